"""The textsvc command: analyze (argument, stdin, --json, --format json), openapi."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from textsvc.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTSVC_DB_PATH", str(tmp_path / "cli.db"))
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(main, list(args), input=input)


def test_analyze_marks_findings_under_the_text(run):
    result = run("analyze", "Hallo, ich würde mein Netzwerk gern um Sie erweitern.")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    text_line = next(i for i, line in enumerate(lines) if "Netzwerk gern" in line)
    marker = lines[text_line + 1]
    start = marker.index("^")
    assert lines[text_line][start:].startswith("mein Netzwerk gern um Sie erweitern")
    assert "DE_NETZWERK_ERWEITERN" in marker


def test_analyze_reads_stdin_and_prints_the_api_body(run):
    result = run("analyze", "--format", "json", input="Hi Tom, let's connect!\n")
    body = json.loads(result.output)
    assert body["language"]["code"] == "en"
    assert {"verdict", "personalization", "matches", "templateMatches", "profileChecks", "explanations"} <= set(body)


def test_analyze_takes_a_full_json_request(run):
    request = {"text": "", "sender": {"visitedRecipientProfile": False, "contacts": 900, "profileVisitors": 1000}}
    result = run("analyze", "--json", "--format", "json", input=json.dumps(request))
    body = json.loads(result.output)
    assert body["verdict"]["action"] == "decline" and result.exit_code == 1


def test_bad_input_exits_2(run):
    assert run("analyze", "--json", input='{"text": 5}').exit_code == 2
    assert run("analyze", "--language", "fr", "Bonjour").exit_code == 2


def test_openapi_prints_yaml(run):
    result = run("openapi")
    assert result.exit_code == 0 and result.output.startswith("components:")


def test_lexicon_check_passes_on_the_shipped_lexicon(run):
    result = run("lexicon", "check")
    assert result.exit_code == 0, result.output
    assert "de:" in result.output and "0 problems" in result.output


def _corpora_copy(tmp_path):
    """What `textsvc lexicon check` reads, copied to change it: lexicon, classifier, policy."""
    import shutil

    from tests.conftest import CORPORA

    corpora = tmp_path / "corpora"
    for part in ("lexicon", "classifier"):
        shutil.copytree(CORPORA / part, corpora / part)
    shutil.copy(CORPORA / "policy.toml", corpora / "policy.toml")
    return corpora


def test_lexicon_check_reports_a_wrong_example(run, tmp_path, monkeypatch):
    corpora = _corpora_copy(tmp_path)
    bad = corpora / "lexicon" / "de" / "zz_broken.toml"
    bad.write_text(
        '[[phrase]]\nid = "DE_ZZ_BROKEN"\nweight = 5\nmessage = "Kaputt."\nreplacements = ["x"]\n'
        'patterns = ["kaffee trinken"]\nhit = ["Wir [gehen Kaffee trinken]."]\nmiss = ["Tee."]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TEXTSVC_CORPORA_DIR", str(corpora))
    result = run("lexicon", "check")
    assert result.exit_code == 1
    assert "DE_ZZ_BROKEN" in result.output and "expected 'gehen Kaffee trinken', found 'Kaffee trinken'" in result.output


def test_lexicon_check_names_a_misspelt_field(run, tmp_path, monkeypatch):
    corpora = _corpora_copy(tmp_path)
    (corpora / "lexicon" / "en" / "zz.toml").write_text(
        '[[phrase]]\nid = "EN_ZZ"\nweight = 5\nmessage = "Broken."\nreplacement = ["x"]\n'
        'patterns = ["coffee"]\nhit = ["[coffee]"]\nmiss = ["tea"]\n', encoding="utf-8")
    monkeypatch.setenv("TEXTSVC_CORPORA_DIR", str(corpora))
    result = run("lexicon", "check")
    assert result.exit_code == 1 and "EN_ZZ: unknown field(s) replacement" in result.output
