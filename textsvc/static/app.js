// textsvc writing coach – plain ES2020 module, no framework, no build step, no network but /v1/check.
//
// Highlighting: the textarea sits on top of a "backdrop" element that mirrors its text in ONE text
// node. The API's UTF-16 offset/length are exactly JavaScript string indices, so they are also DOM
// Range offsets into that text node: each finding becomes a Range registered with the CSS Custom
// Highlight API (CSS.highlights + ::highlight()). Browsers without the API get <mark> elements built
// from text nodes. User text is only ever assigned via textContent / text nodes, never as HTML.

const DEBOUNCE_MS = 400;
const MAX_REPLACEMENTS = 5;

const KINDS = {
  phrase: { highlight: "tc-phrase", label: "Floskel", counter: "count-phrase" },
  template: { highlight: "tc-template", label: "Platzhalter", counter: "count-template" },
  limit: { highlight: "tc-limit", label: "Über dem Limit", counter: "count-limit" },
};
const ACTIVE_HIGHLIGHT = "tc-active";

const $ = (id) => document.getElementById(id);
const el = {
  draft: $("draft"),
  backdrop: $("backdrop"),
  counter: $("counter"),
  status: $("status"),
  statusText: $("status-text"),
  form: $("context-form"),
  platform: $("platform"),
  membership: $("membership"),
  firstName: $("first-name"),
  lastName: $("last-name"),
  company: $("company"),
  position: $("position"),
  interests: $("interests"),
  results: document.querySelector(".results-card"),
  verdict: $("verdict"),
  verdictText: $("verdict-text"),
  gauge: $("gauge"),
  gaugeNumber: $("gauge-number"),
  gaugeWord: $("gauge-word"),
  summarySentence: $("summary-sentence"),
  templateBlock: $("template-block"),
  templateNote: $("template-note"),
  findings: $("findings"),
  findingsEmpty: $("findings-empty"),
  suggestions: $("suggestions"),
  suggestionsEmpty: $("suggestions-empty"),
  signals: $("signals"),
  popover: $("popover"),
  popoverKind: $("popover-kind"),
  popoverTitle: $("popover-title"),
  popoverMessage: $("popover-message"),
  popoverReplacements: $("popover-replacements"),
  popoverClose: $("popover-close"),
  popoverIgnore: $("popover-ignore"),
};

const supportsHighlights = typeof CSS !== "undefined" && Boolean(CSS.highlights) && typeof Highlight === "function";

const state = {
  timer: 0,
  controller: null, // AbortController of the request in flight
  shownText: "", // the text the current spans refer to
  spans: [], // every span-bearing object (findings and suggestions); shifted while typing
  findings: [], // highlighted findings: {key, kind, span, title, message, replacements[]}
  limit: null,
  ignored: new Set(),
  open: null, // {finding, returnFocus}
  lastPayloadKey: null,
};

// --- tiny DOM helper: attributes and text only, never HTML ---------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const codePoints = (s) => {
  let n = 0;
  for (const _ of s) n += 1; // eslint-disable-line no-unused-vars
  return n;
};
const fmt = (n) => n.toLocaleString("de-DE");
const quote = (s) => `„${s}“`;
/** Long spans (e.g. everything over the limit) are shortened for display only. */
const shortQuote = (s, max = 90) => {
  const t = s.trim().replace(/\s+/g, " ");
  return quote(t.length > max ? `${t.slice(0, max - 1).trimEnd()}…` : t);
};

// --- status line ---------------------------------------------------------------------------------

const STATUS = {
  idle: "Bereit – beginnen Sie zu tippen.",
  stale: "veraltet – Ihre Änderung wird gleich geprüft …",
  checking: "prüfe …",
  done: "fertig",
  error: "Fehler",
};

function setStatus(name, detail = "") {
  el.status.dataset.state = name;
  el.statusText.textContent = detail ? `${STATUS[name]}: ${detail}` : STATUS[name];
  el.results.classList.toggle("is-stale", name === "stale" || name === "checking");
  el.results.setAttribute("aria-busy", name === "checking" ? "true" : "false");
}

// --- request -------------------------------------------------------------------------------------

function payload(text) {
  const recipient = {};
  const put = (key, input) => {
    const v = input.value.trim();
    if (v) recipient[key] = v.slice(0, 300);
  };
  put("firstName", el.firstName);
  put("lastName", el.lastName);
  put("company", el.company);
  put("position", el.position);
  const interests = el.interests.value.split(",").map((s) => s.trim().slice(0, 300)).filter(Boolean).slice(0, 100);
  if (interests.length) recipient.interests = interests;
  const body = { text, language: "auto", platform: el.platform.value };
  if (Object.keys(recipient).length) body.recipient = recipient;
  if (el.membership.value) body.sender = { membership: el.membership.value };
  return body;
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(runCheck, DEBOUNCE_MS);
}

function outdate() {
  // Anything that changes the request makes the answer in flight worthless: cancel it now.
  if (state.controller) {
    state.controller.abort();
    state.controller = null;
  }
  setStatus("stale");
  schedule();
}

async function runCheck() {
  clearTimeout(state.timer);
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const text = el.draft.value;
  const body = payload(text);
  const key = JSON.stringify(body);
  setStatus("checking");
  try {
    const res = await fetch("/v1/check", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: key,
      signal: controller.signal,
      cache: "no-store",
    });
    const data = await res.json().catch(() => null);
    if (state.controller !== controller) return; // superseded meanwhile
    state.controller = null;
    if (!res.ok || !data) {
      const why = (data && (data.detail || data.title)) || `HTTP ${res.status}`;
      setStatus("error", why);
      return;
    }
    if (key !== JSON.stringify(payload(el.draft.value))) {
      setStatus("stale");
      schedule();
      return;
    }
    state.lastPayloadKey = key;
    render(text, data);
    setStatus("done", doneDetail());
  } catch (err) {
    if (err && err.name === "AbortError") return;
    if (state.controller !== controller) return;
    state.controller = null;
    setStatus("error", "Der Server ist nicht erreichbar.");
  }
}

function doneDetail() {
  const n = state.findings.filter((f) => !state.ignored.has(f.key)).length;
  return n === 0 ? "keine Markierungen" : n === 1 ? "1 Markierung" : `${n} Markierungen`;
}

// --- spans and their bookkeeping while typing -----------------------------------------------------

function makeSpan(text, offset, length) {
  const span = { offset, length, text: text.slice(offset, offset + length), alive: true };
  state.spans.push(span);
  return span;
}

function spanIsCurrent(span) {
  return span.alive && el.draft.value.slice(span.offset, span.offset + span.length) === span.text;
}

/** Shift spans after an edit so highlights stay on their words until the next check arrives. */
function shiftSpans(oldText, newText) {
  const max = Math.min(oldText.length, newText.length);
  let p = 0;
  while (p < max && oldText.charCodeAt(p) === newText.charCodeAt(p)) p += 1;
  let s = 0;
  while (s < max - p && oldText.charCodeAt(oldText.length - 1 - s) === newText.charCodeAt(newText.length - 1 - s)) s += 1;
  const editEnd = oldText.length - s;
  const delta = newText.length - oldText.length;
  for (const span of state.spans) {
    if (!span.alive) continue;
    if (span.offset + span.length <= p) continue;
    if (span.offset >= editEnd) span.offset += delta;
    else span.alive = false;
  }
}

// --- rendering the result ------------------------------------------------------------------------

function kindOf(match) {
  if (match.category === "TEMPLATE") return "template";
  return "phrase";
}

function uniqueValues(...lists) {
  const seen = new Set();
  const out = [];
  for (const list of lists) {
    for (const r of list || []) {
      if (r && typeof r.value === "string" && r.value && !seen.has(r.value)) {
        seen.add(r.value);
        out.push(r.value);
      }
    }
  }
  return out;
}

function render(text, data) {
  closePopover(false);
  state.shownText = text;
  state.spans = [];
  state.limit = data.length ? data.length.limit : null;

  const suggestions = [...(data.suggestions || [])].sort(
    (a, b) => (a.severity === "blocker" ? 0 : 1) - (b.severity === "blocker" ? 0 : 1),
  );
  const hasSpan = (x) => Number.isInteger(x.offset) && Number.isInteger(x.length) && x.length > 0;

  // Findings: every match, plus the part beyond the platform limit.
  state.findings = (data.matches || []).filter(hasSpan).map((m) => {
    const same = suggestions.filter((s) => hasSpan(s) && s.offset === m.offset && s.length === m.length);
    return {
      key: `${m.ruleId}:${m.text}`,
      kind: kindOf(m),
      span: makeSpan(text, m.offset, m.length),
      title: m.shortMessage || KINDS[kindOf(m)].label,
      message: m.message,
      replacements: uniqueValues(m.replacements, ...same.map((s) => s.replacements)).slice(0, MAX_REPLACEMENTS),
      ruleId: m.ruleId,
    };
  });
  for (const s of suggestions) {
    if (s.id === "TOO_LONG" && hasSpan(s)) {
      state.findings.push({
        key: `TOO_LONG:${s.offset}`,
        kind: "limit",
        span: makeSpan(text, s.offset, s.length),
        title: "Über dem Zeichenlimit",
        message: s.message,
        replacements: [],
        ruleId: s.id,
      });
    }
  }

  renderVerdict(data);
  renderFindings();
  renderSuggestions(text, suggestions);
  renderSignals(data.personalization ? data.personalization.signals : []);
  renderTemplate(data.templateMatches || []);
  renderBackdrop();
  updateCounter();
}

function renderVerdict(data) {
  const action = data.verdict ? data.verdict.action : "revise";
  const score = data.personalization ? data.personalization.score : data.verdict.score;
  el.verdict.dataset.action = action;
  el.verdict.querySelector(".verdict__icon").textContent = action === "ready" ? "✓" : "✎";
  el.verdictText.textContent = action === "ready" ? "Bereit zum Senden" : "Überarbeiten";
  el.gauge.value = score;
  el.gauge.textContent = `${score} von 100`;
  el.gaugeNumber.textContent = String(score);
  const word = score >= 70 ? "gut personalisiert" : score >= 40 ? "teilweise personalisiert" : "kaum personalisiert";
  el.gaugeWord.textContent = `– ${word}`;
  el.gauge.setAttribute("aria-valuetext", `${score} von 100, ${word}`);

  const visible = state.findings.filter((f) => !state.ignored.has(f.key)).length;
  const blockers = (data.suggestions || []).filter((s) => s.severity === "blocker").length;
  const improvements = (data.suggestions || []).length - blockers;
  const parts = [];
  parts.push(visible === 1 ? "1 markierte Stelle" : `${visible} markierte Stellen`);
  if (blockers) parts.push(blockers === 1 ? "1 Punkt vor dem Senden beheben" : `${blockers} Punkte vor dem Senden beheben`);
  if (improvements) parts.push(improvements === 1 ? "1 Verbesserung möglich" : `${improvements} Verbesserungen möglich`);
  const head = action === "ready" ? "Bereit zum Senden" : "Bitte überarbeiten";
  el.summarySentence.textContent = `${head}. Personalisierung ${score} von 100. ${parts.join(", ")}.`;
}

function renderFindings() {
  el.findings.replaceChildren();
  const counts = { phrase: 0, template: 0, limit: 0 };
  let ignoredCount = 0;
  for (const f of state.findings) {
    if (state.ignored.has(f.key)) {
      ignoredCount += 1;
      continue;
    }
    counts[f.kind] += 1;
    const button = h(
      "button",
      {
        type: "button",
        class: `finding finding--${f.kind}`,
        "aria-haspopup": "dialog",
        "aria-expanded": "false",
        "data-key": f.key,
        onclick: (ev) => openPopover(f, ev.currentTarget, true),
      },
      h("span", { class: "finding__kind", text: KINDS[f.kind].label }),
      h("span", { class: "finding__text", text: shortQuote(f.span.text) }),
    );
    f.button = button;
    el.findings.append(h("li", {}, button));
  }
  if (ignoredCount) {
    el.findings.append(
      h("li", { class: "findings__ignored" },
        h("button", {
          type: "button",
          class: "link-button",
          text: ignoredCount === 1 ? "1 ignorierte Stelle wieder anzeigen" : `${ignoredCount} ignorierte Stellen wieder anzeigen`,
          onclick: () => {
            state.ignored.clear();
            renderFindings();
            renderBackdrop();
            el.draft.focus();
          },
        })),
    );
  }
  el.findingsEmpty.hidden = state.findings.length > 0;
  for (const [kind, n] of Object.entries(counts)) {
    const badge = $(KINDS[kind].counter);
    badge.textContent = n === 0 ? "✓" : String(n);
    badge.classList.toggle("badge--none", n === 0);
    badge.setAttribute("aria-label", n === 0 ? "keine" : `${n}`);
  }
}

const SEVERITY = {
  blocker: { label: "Vor dem Senden beheben", cls: "blocker" },
  improvement: { label: "Verbesserung", cls: "improvement" },
};

function renderSuggestions(text, suggestions) {
  el.suggestions.replaceChildren();
  for (const s of suggestions) {
    const sev = SEVERITY[s.severity] || SEVERITY.improvement;
    const li = h("li", { class: `suggestion suggestion--${sev.cls}`, "data-id": s.id },
      h("span", { class: "suggestion__severity", text: sev.label }),
      h("p", { class: "suggestion__message", text: s.message }));
    if (Number.isInteger(s.offset) && Number.isInteger(s.length) && s.length > 0) {
      const span = makeSpan(text, s.offset, s.length);
      const actions = h("div", { class: "suggestion__actions" });
      for (const value of uniqueValues(s.replacements).slice(0, MAX_REPLACEMENTS)) {
        actions.append(replacementButton(span, value));
      }
      actions.append(h("button", {
        type: "button",
        class: "link-button",
        text: "Stelle im Text zeigen",
        onclick: () => selectSpan(span),
      }));
      li.append(actions);
    }
    el.suggestions.append(li);
  }
  el.suggestionsEmpty.hidden = suggestions.length > 0;
  el.suggestionsEmpty.textContent = "Keine Vorschläge – gut gemacht.";
}

function renderSignals(signals) {
  el.signals.replaceChildren();
  const order = (s) => (s.present ? (s.points >= 0 ? 0 : 1) : 2);
  for (const s of [...signals].sort((a, b) => order(a) - order(b))) {
    const good = s.present && s.points >= 0;
    const bad = s.present && s.points < 0;
    const mark = good ? "✓" : bad ? "✗" : "○";
    const points = s.points > 0 ? `+${s.points}` : s.points < 0 ? `−${Math.abs(s.points)}` : "0";
    el.signals.append(
      h("li", { class: `signal ${good ? "signal--good" : bad ? "signal--bad" : "signal--missing"}` },
        h("span", { class: "signal__mark", "aria-hidden": "true", text: mark }),
        h("span", { class: "signal__text", text: `${s.detail}${s.present ? "" : " (fehlt)"}` }),
        h("span", { class: "signal__points", text: points })),
    );
  }
}

function renderTemplate(templates) {
  const best = templates[0];
  el.templateBlock.hidden = !best;
  if (!best) return;
  const seen = best.timesSeen > 0 ? ` (${fmt(best.timesSeen)}× gesehen)` : "";
  el.templateNote.textContent =
    `Ähnelt zu ${fmt(best.similarity)} % einer bekannten Vorlage${seen}. Formulieren Sie in eigenen Worten.`;
}

function updateCounter() {
  const n = codePoints(el.draft.value);
  const limit = state.limit;
  el.counter.textContent = limit ? `${fmt(n)} / ${fmt(limit)} Zeichen` : `${fmt(n)} Zeichen`;
  el.counter.classList.toggle("counter--over", Boolean(limit && n > limit));
}

// --- the backdrop and its highlights --------------------------------------------------------------

function visibleFindings() {
  return state.findings.filter((f) => f.span.alive && !state.ignored.has(f.key));
}

function renderBackdrop() {
  const text = el.draft.value;
  const findings = visibleFindings();
  if (supportsHighlights) {
    const node = document.createTextNode(text);
    // The extra node keeps a trailing newline visible, exactly as the textarea shows it.
    el.backdrop.replaceChildren(node, document.createTextNode("\u200b"));
    const groups = { phrase: [], template: [], limit: [] };
    for (const f of findings) {
      const range = new Range();
      range.setStart(node, f.span.offset);
      range.setEnd(node, f.span.offset + f.span.length);
      f.range = range;
      groups[f.kind].push(range);
    }
    for (const [kind, ranges] of Object.entries(groups)) {
      const hl = new Highlight(...ranges);
      hl.priority = kind === "limit" ? 0 : kind === "phrase" ? 1 : 2;
      CSS.highlights.set(KINDS[kind].highlight, hl);
    }
    updateActiveHighlight();
    return;
  }
  // Fallback: text nodes and <mark> elements (textContent only), first span wins on overlap.
  const sorted = [...findings].sort((a, b) => a.span.offset - b.span.offset);
  const parts = [];
  let pos = 0;
  for (const f of sorted) {
    if (f.span.offset < pos) continue;
    parts.push(document.createTextNode(text.slice(pos, f.span.offset)));
    const mark = h("mark", { class: `hl hl--${f.kind}`, "data-key": f.key, text: text.slice(f.span.offset, f.span.offset + f.span.length) });
    f.mark = mark;
    parts.push(mark);
    pos = f.span.offset + f.span.length;
  }
  parts.push(document.createTextNode(text.slice(pos)), document.createTextNode("\u200b"));
  el.backdrop.replaceChildren(...parts);
  updateActiveHighlight();
}

function updateActiveHighlight() {
  const f = state.open && state.open.finding;
  if (supportsHighlights) {
    // A stronger tint of the finding's own category marks the words the popover talks about.
    for (const kind of Object.keys(KINDS)) CSS.highlights.delete(`${ACTIVE_HIGHLIGHT}-${kind}`);
    if (f && f.range) {
      const hl = new Highlight(f.range);
      hl.priority = 10;
      CSS.highlights.set(`${ACTIVE_HIGHLIGHT}-${f.kind}`, hl);
    }
  } else {
    for (const m of el.backdrop.querySelectorAll("mark.is-active")) m.classList.remove("is-active");
    if (f && f.mark) f.mark.classList.add("is-active");
  }
}

function syncScroll() {
  el.backdrop.scrollTop = el.draft.scrollTop;
  el.backdrop.scrollLeft = el.draft.scrollLeft;
}

function autoGrow() {
  el.draft.style.height = "auto";
  el.draft.style.height = `${el.draft.scrollHeight + 2}px`;
  syncScroll();
}

// --- popover ---------------------------------------------------------------------------------------

function anchorRect(finding, fallback) {
  let rects = [];
  if (finding.range) rects = [...finding.range.getClientRects()];
  else if (finding.mark) rects = [...finding.mark.getClientRects()];
  if (!rects.length && fallback) rects = [fallback.getBoundingClientRect()];
  if (!rects.length) return el.draft.getBoundingClientRect();
  const first = rects[0];
  const last = rects[rects.length - 1];
  return { left: first.left, top: first.top, bottom: last.bottom };
}

function openPopover(finding, invoker, moveFocus) {
  if (!spanIsCurrent(finding.span)) {
    // The words moved or changed since the last check; the next check will bring fresh findings.
    runCheck();
    return;
  }
  closePopover(false);
  state.open = { finding, returnFocus: invoker || el.draft };
  el.popoverKind.textContent = finding.title;
  el.popoverKind.className = `popover__kind popover__kind--${finding.kind}`;
  el.popoverTitle.textContent = shortQuote(finding.span.text, 140);
  el.popoverMessage.textContent = finding.message;
  el.popoverReplacements.replaceChildren();
  if (finding.replacements.length) {
    el.popoverReplacements.append(h("p", { class: "popover__label", text: "Ersetzen durch:" }));
    for (const value of finding.replacements) {
      el.popoverReplacements.append(replacementButton(finding.span, value));
    }
  } else if (finding.kind === "limit") {
    el.popoverReplacements.append(h("p", { class: "popover__label", text: "Kürzen Sie den markierten Teil." }));
  }
  el.popover.hidden = false;
  positionPopover(anchorRect(finding, invoker));
  if (finding.button) finding.button.setAttribute("aria-expanded", "true");
  updateActiveHighlight();
  if (moveFocus) {
    const first = el.popoverReplacements.querySelector("button") || el.popoverClose;
    first.focus();
  }
}

function positionPopover(rect) {
  const pop = el.popover;
  const margin = 8;
  const width = pop.offsetWidth;
  const height = pop.offsetHeight;
  let left = rect.left;
  left = Math.max(margin, Math.min(left, document.documentElement.clientWidth - width - margin));
  let top = rect.bottom + 6;
  if (top + height > window.innerHeight - margin && rect.top - height - 6 > margin) top = rect.top - height - 6;
  pop.style.left = `${left + window.scrollX}px`;
  pop.style.top = `${top + window.scrollY}px`;
}

function closePopover(restoreFocus) {
  if (!state.open) return;
  const { finding, returnFocus } = state.open;
  state.open = null;
  el.popover.hidden = true;
  if (finding.button) finding.button.setAttribute("aria-expanded", "false");
  updateActiveHighlight();
  if (restoreFocus && returnFocus && document.contains(returnFocus)) returnFocus.focus();
}

function replacementButton(span, value) {
  return h("button", {
    type: "button",
    class: "replacement",
    title: `Ersetzt ${shortQuote(span.text)}`,
    onclick: () => applyReplacement(span, value),
  }, h("span", { class: "replacement__arrow", "aria-hidden": "true", text: "→ " }), value);
}

function applyReplacement(span, value) {
  closePopover(false);
  if (!spanIsCurrent(span)) {
    setStatus("stale");
    runCheck();
    return;
  }
  const start = span.offset;
  const end = span.offset + span.length;
  const before = el.draft.value;
  const expected = before.slice(0, start) + value + before.slice(end);
  el.draft.focus();
  el.draft.setSelectionRange(start, end);
  // insertText keeps the browser's undo history (Ctrl+Z); setRangeText is the plain fallback.
  let inserted = false;
  try {
    inserted = document.execCommand("insertText", false, value) && el.draft.value === expected;
  } catch {
    inserted = false;
  }
  if (!inserted) {
    el.draft.value = before;
    el.draft.setRangeText(value, start, end, "end");
  }
  if (previousText !== el.draft.value) textChanged(previousText, el.draft.value);
  runCheck(); // no debounce: the user asked for it
}

function selectSpan(span) {
  if (!spanIsCurrent(span)) {
    runCheck();
    return;
  }
  el.draft.focus();
  el.draft.setSelectionRange(span.offset, span.offset + span.length);
}

function findingAt(pos) {
  return visibleFindings().find((f) => f.span.offset <= pos && pos <= f.span.offset + f.span.length);
}

// --- events ----------------------------------------------------------------------------------------

let previousText = el.draft.value;

function textChanged(before, after) {
  previousText = after;
  shiftSpans(before, after);
  closePopover(false);
  autoGrow();
  renderBackdrop();
  updateCounter();
  outdate();
}

el.draft.addEventListener("input", () => {
  textChanged(previousText, el.draft.value);
});

el.draft.addEventListener("scroll", syncScroll);
el.draft.addEventListener("click", () => {
  if (el.draft.selectionStart !== el.draft.selectionEnd) return;
  const f = findingAt(el.draft.selectionStart);
  if (f) openPopover(f, el.draft, false);
  else closePopover(false);
});
el.draft.addEventListener("keydown", (ev) => {
  // Alt+Enter in the text opens the explanation of the marked words under the caret.
  if (ev.key === "Enter" && ev.altKey) {
    const f = findingAt(el.draft.selectionStart);
    if (f) {
      ev.preventDefault();
      openPopover(f, el.draft, true);
    }
  }
});

function contextChanged() {
  // "change" also fires on blur; only a different request makes the result outdated.
  const unchanged = JSON.stringify(payload(el.draft.value)) === state.lastPayloadKey;
  if (unchanged && !state.controller && el.status.dataset.state === "done") return;
  outdate();
}
el.form.addEventListener("input", contextChanged);
el.form.addEventListener("change", contextChanged);
el.form.addEventListener("submit", (ev) => ev.preventDefault());

el.popoverClose.addEventListener("click", () => closePopover(true));
el.popoverIgnore.addEventListener("click", () => {
  if (!state.open) return;
  state.ignored.add(state.open.finding.key);
  closePopover(false);
  renderFindings();
  renderBackdrop();
  el.draft.focus();
  if (el.status.dataset.state === "done") setStatus("done", doneDetail());
});

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && state.open) {
    ev.preventDefault();
    closePopover(true);
  }
});
document.addEventListener("pointerdown", (ev) => {
  if (!state.open) return;
  if (el.popover.contains(ev.target)) return;
  if (state.open.finding.button && state.open.finding.button.contains(ev.target)) return;
  closePopover(false);
});
window.addEventListener("resize", () => {
  autoGrow();
  if (state.open) positionPopover(anchorRect(state.open.finding, state.open.returnFocus));
});

autoGrow();
renderBackdrop();
updateCounter();
setStatus("idle");
if (el.draft.value) outdate(); // a draft restored by the browser after reload
