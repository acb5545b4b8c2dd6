"""The coach page at ``/`` in a real browser: Debian's Chromium driven by Playwright, served by a
real ``textsvc serve`` process.

Expectations come from the live API for the very text typed into the page (the lexicon keeps
growing), so the test checks that the page shows exactly what ``/v1/check`` says, at exactly the
right characters. Nothing here downloads a browser: without ``chromium`` or ``playwright`` the module
is skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

expect = sync_api.expect

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
KIND = {"GENERIC_PHRASE": "tc-phrase", "TEMPLATE": "tc-template"}

TEMPLATE_DRAFT = ("Hallo, ich bin auf Ihr Profil gestoßen und würde mich freuen, "
                  "Sie in meinem Netzwerk begrüßen zu dürfen.")
PERSONAL_DRAFT = ("Hallo Frau Weber, ich bin auf Ihr Profil gestoßen und würde mich freuen, Sie in meinem "
                  "Netzwerk begrüßen zu dürfen. Wie plant Bosch den Einkauf von Wasserstoff ab 2027?")
RECIPIENT = {"firstName": "Anna", "lastName": "Weber", "company": "Bosch",
             "position": "Leiterin Einkauf", "interests": ["Wasserstoff", "Lieferketten"]}
EMOJI_DRAFT = "👋🏽😀 Hallo, ich würde mich freuen, Sie in meinem Netzwerk begrüßen zu dürfen."


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("page")) as (_, base):
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # The page must work air-gapped: any request to another origin fails the test.
    foreign: list[str] = []
    pg.on("request", lambda req: None if req.url.startswith(base_url) else foreign.append(req.url))
    pg.goto(base_url + "/")
    expect(pg.locator("#status")).to_have_attribute("data-state", "idle")
    yield pg
    context.close()
    assert not errors, errors
    assert not foreign, foreign


# --- helpers ------------------------------------------------------------------------------------


def api_check(base_url: str, text: str, *, platform: str = "xing", recipient: dict | None = None,
              membership: str | None = None) -> dict:
    """What the page should show: the same request body the page sends."""
    body: dict = {"text": text, "language": "auto", "platform": platform}
    if recipient:
        body["recipient"] = recipient
    if membership:
        body["sender"] = {"membership": membership}
    r = httpx.post(base_url + "/v1/check", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def wait_checked(page) -> None:
    """The result on screen belongs to the text and fields as they are now."""
    expect(page.locator("#status")).to_have_attribute("data-state", "done", timeout=20_000)
    expect(page.locator("#status-text")).to_contain_text("fertig")


def highlights(page) -> set[tuple[str, int, int, str]]:
    """Every range registered with the CSS Custom Highlight API: (name, offset, length, text)."""
    rows = page.evaluate("""() => {
        const out = [];
        for (const [name, hl] of CSS.highlights) {
            if (name.startsWith('tc-active')) continue;
            for (const r of hl) out.push([name, r.startOffset, r.endOffset - r.startOffset, r.toString()]);
        }
        return out;
    }""")
    return {tuple(r) for r in rows}


def expected_highlights(result: dict) -> set[tuple[str, int, int, str]]:
    return {(KIND[m["category"]], m["offset"], m["length"], m["text"]) for m in result["matches"]}


def gauge(page) -> int:
    return int(page.locator("#gauge").evaluate("m => m.value"))


def fill_recipient(page, r: dict) -> None:
    page.fill("#first-name", r["firstName"])
    page.fill("#last-name", r["lastName"])
    page.fill("#company", r["company"])
    page.fill("#position", r["position"])
    page.fill("#interests", ", ".join(r["interests"]))


def click_highlight(page, offset: int, length: int) -> None:
    """A real mouse click in the middle of the highlighted characters (on the textarea above them)."""
    box = page.evaluate("""([offset, length]) => {
        const node = document.getElementById('backdrop').firstChild;
        const r = new Range();
        r.setStart(node, offset); r.setEnd(node, offset + length);
        const rect = r.getClientRects()[0];
        return {x: rect.left + rect.width / 2, y: rect.top + rect.height / 2};
    }""", [offset, length])
    page.mouse.click(box["x"], box["y"])


# --- tests --------------------------------------------------------------------------------------


def test_page_is_german_offline_and_says_text_is_not_stored(page, base_url):
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_text("Ihr Text wird nicht gespeichert.")).to_be_visible()
    meter = page.locator("meter#gauge")
    assert [meter.get_attribute(a) for a in ("min", "max", "low", "high", "optimum")] == \
        ["0", "100", "40", "70", "100"]
    assert page.locator("#summary").get_attribute("aria-live") == "polite"
    for label in ("Vorname", "Nachname", "Firma", "Position", "Interessen", "Plattform"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    html = httpx.get(base_url + "/").text
    assert "http://" not in html and "https://" not in html  # no CDN


def test_template_draft_is_highlighted_exactly_and_explained(page, base_url):
    draft = page.locator("#draft")
    draft.press_sequentially(TEMPLATE_DRAFT)  # real typing: debounce and aborts in between
    wait_checked(page)
    result = api_check(base_url, TEMPLATE_DRAFT)

    shown = highlights(page)
    assert shown == expected_highlights(result)
    assert len(shown) >= 1
    for _, offset, length, text in shown:
        assert TEMPLATE_DRAFT.encode("utf-16-le")[2 * offset: 2 * (offset + length)].decode("utf-16-le") == text

    assert result["verdict"]["action"] == "revise"
    expect(page.locator("#verdict")).to_have_attribute("data-action", "revise")
    assert gauge(page) == result["personalization"]["score"]
    expect(page.locator("#gauge-number")).to_have_text(str(result["personalization"]["score"]))
    expect(page.locator(".finding")).to_have_count(len(result["matches"]))
    expect(page.locator(".suggestion")).to_have_count(len(result["suggestions"]))
    severities = page.locator(".suggestion").evaluate_all("els => els.map(e => e.className)")
    blockers = [i for i, c in enumerate(severities) if "blocker" in c]
    assert blockers == list(range(len(blockers)))  # blockers first

    # Keyboard: Tab order reaches the findings list; Enter opens the explanation with focus inside.
    first = page.locator(".finding").first
    first.focus()
    page.keyboard.press("Enter")
    popover = page.locator("#popover")
    expect(popover).to_be_visible()
    match = result["matches"][0]
    expect(popover).to_contain_text(match["message"])
    assert match["replacements"], "every generic phrase needs a replacement"
    expect(popover.locator(".replacement")).to_have_count(min(5, len({r["value"] for r in match["replacements"]})))
    assert page.evaluate("document.getElementById('popover').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(popover).to_be_hidden()
    assert page.evaluate("document.activeElement.classList.contains('finding')")


def test_applying_a_replacement_rechecks_and_the_gauge_rises(page, base_url):
    fill_recipient(page, RECIPIENT)
    page.select_option("#platform", "xing")
    page.select_option("#membership", "premium")
    page.locator("#draft").press_sequentially(PERSONAL_DRAFT)
    wait_checked(page)
    before = api_check(base_url, PERSONAL_DRAFT, recipient=RECIPIENT, membership="premium")
    assert highlights(page) == expected_highlights(before)
    score_before = gauge(page)
    assert score_before == before["personalization"]["score"]
    expect(page.locator("#verdict")).to_have_attribute("data-action", before["verdict"]["action"])

    match = next(m for m in before["matches"] if m["category"] == "GENERIC_PHRASE" and m["replacements"])
    click_highlight(page, match["offset"], match["length"])
    popover = page.locator("#popover")
    expect(popover).to_be_visible()
    expect(popover.locator("#popover-title")).to_have_text(f"„{match['text']}“")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "coach-page.png"), full_page=True)

    value = match["replacements"][0]["value"]
    units = PERSONAL_DRAFT.encode("utf-16-le")
    expected_text = (units[: 2 * match["offset"]].decode("utf-16-le") + value
                     + units[2 * (match["offset"] + match["length"]):].decode("utf-16-le"))
    popover.locator(".replacement", has_text=value).click()
    expect(page.locator("#draft")).to_have_value(expected_text)
    expect(popover).to_be_hidden()
    wait_checked(page)

    after = api_check(base_url, expected_text, recipient=RECIPIENT, membership="premium")
    score_after = gauge(page)
    assert score_after == after["personalization"]["score"]
    expect(page.locator("#verdict")).to_have_attribute("data-action", after["verdict"]["action"])
    assert highlights(page) == expected_highlights(after)
    assert score_after > score_before or after["verdict"]["action"] != before["verdict"]["action"]

    # The replacement is one step in the browser's undo history; undoing it checks again.
    page.locator("#draft").press("Control+z")
    expect(page.locator("#draft")).to_have_value(PERSONAL_DRAFT)
    wait_checked(page)
    assert gauge(page) == score_before


def test_emoji_before_a_finding_highlights_the_right_characters(page, base_url):
    page.locator("#draft").fill(EMOJI_DRAFT)
    wait_checked(page)
    result = api_check(base_url, EMOJI_DRAFT)
    assert result["matches"], "the draft must contain at least one finding"
    assert all(m["offset"] > m["start"] for m in result["matches"])  # UTF-16 differs from code points
    shown = highlights(page)
    assert shown == expected_highlights(result)
    by_offset = {offset: text for _, offset, _, text in shown}
    for m in result["matches"]:
        assert by_offset[m["offset"]] == m["text"] == EMOJI_DRAFT[m["start"]:m["end"]]


def test_pasted_html_stays_text(page, base_url):
    html = '<img src=x onerror="window.__pwned=1"><b>fett</b> Sie in meinem Netzwerk begrüßen'
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    # A real paste of a clipboard that carries an HTML flavour as well as plain text.
    page.evaluate("""async (html) => {
        await navigator.clipboard.write([new ClipboardItem({
            'text/html': new Blob([html], {type: 'text/html'}),
            'text/plain': new Blob([html], {type: 'text/plain'}),
        })]);
    }""", html)
    page.locator("#draft").focus()
    page.keyboard.press("Control+V")
    expect(page.locator("#draft")).to_have_value(html)
    wait_checked(page)
    assert page.locator("img").count() == 0
    assert page.locator("b").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#backdrop").evaluate("b => b.firstChild.data") == html
    result = api_check(base_url, html)
    assert highlights(page) == expected_highlights(result)
    if result["matches"]:
        page.locator(".finding").first.click()
        expect(page.locator("#popover")).to_be_visible()
        assert page.locator("#popover b, #popover img").count() == 0


def test_without_the_highlight_api_marks_are_built_from_text(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        pg = context.new_page()
        pg.add_init_script("window.Highlight = undefined;")
        pg.goto(base_url + "/")
        pg.locator("#draft").fill(EMOJI_DRAFT)
        wait_checked(pg)
        result = api_check(base_url, EMOJI_DRAFT)
        marks = pg.locator("#backdrop mark").evaluate_all("ms => ms.map(m => m.textContent)")
        assert marks == [m["text"] for m in result["matches"]]
        assert pg.locator("#backdrop").evaluate("b => b.textContent") == EMOJI_DRAFT + "\u200b"
    finally:
        context.close()


def test_outdated_request_is_cancelled_and_status_reports_it(page, base_url):
    draft = page.locator("#draft")
    draft.fill("Hallo Frau Weber")
    expect(page.locator("#status")).to_have_attribute("data-state", "stale")
    # Type on before the first answer can be shown: only the final text may end as "fertig".
    draft.press_sequentially(", wie plant Bosch den Einkauf?")
    wait_checked(page)
    final = api_check(base_url, "Hallo Frau Weber, wie plant Bosch den Einkauf?")
    assert gauge(page) == final["personalization"]["score"]
    expect(page.locator("#counter")).to_contain_text(str(final["length"]["chars"]))


def test_a_slip_is_offered_as_a_suggestion_and_fixed_with_one_click(page, base_url):
    draft = "Hallo Frau Roth, danke für Ihren Vortrag über Wärmepumpen in Kassel! Wie kalkulieren Sie das Netzwek der Monteure?"
    page.locator("#draft").fill(draft)
    wait_checked(page)
    suggestion = page.locator('.suggestion[data-id="SPELLING"]')
    expect(suggestion).to_have_count(1)
    expect(suggestion.locator(".suggestion__message")).to_contain_text("Netzwerk")
    suggestion.locator(".replacement", has_text="Netzwerk").click()
    expect(page.locator("#draft")).to_have_value(draft.replace("Netzwek", "Netzwerk"))
    wait_checked(page)
    expect(page.locator('.suggestion[data-id="SPELLING"]')).to_have_count(0)
