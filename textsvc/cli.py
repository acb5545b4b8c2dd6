"""The ``textsvc`` command: serve the API, analyse a message in the terminal, export the schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import msgspec

from textsvc import __version__
from textsvc.errors import TextsvcError
from textsvc.schemas import AnalyzeRequest, AnalyzeResponse, CheckResponse, Match
from textsvc.settings import Settings

_MARK = {"GENERIC_PHRASE": "^", "TEMPLATE": "!"}


@click.group()
@click.version_option(__version__, prog_name="textsvc")
def main() -> None:
    """textsvc: tell a personal contact request from boilerplate and mass-sent templates."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; each loads its own pipelines and shares the SQLite file.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SQLite file (default: $TEXTSVC_DB_PATH, else the per-user data directory).")
def serve(host: str, port: int, workers: int, db_path: Path | None) -> None:
    """Run the HTTP API (uvicorn); the seed corpus is loaded on first start."""
    import os

    import uvicorn

    if db_path is not None:
        os.environ["TEXTSVC_DB_PATH"] = str(db_path)
    settings = Settings.from_env()
    click.echo(f"textsvc {__version__}: database {settings.db_path}", err=True)
    uvicorn.run("textsvc.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False)


@main.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Input is a full JSON request body (argument or stdin).")
@click.option("--language", default="auto", show_default=True, help="auto, de or en.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Readable report, or the exact API response body.")
def analyze(text: str | None, as_json: bool, language: str, fmt: str) -> None:
    """Analyse a request message given as TEXT or on stdin.

    Exit status: 0 accept, 1 review or decline, 2 bad input.
    """
    req, result = _run("analyze", text, as_json, language=language)
    click.echo(msgspec.json.encode(result).decode() if fmt == "json" else render(req.text, result))
    sys.exit(0 if result.verdict.action == "accept" else 1)


@main.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Input is a full JSON request body (argument or stdin).")
@click.option("--language", default="auto", show_default=True, help="auto, de or en.")
@click.option("--platform", type=click.Choice(["xing", "linkedin", "other"]), default=None,
              help="Checks the platform's length limit.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Readable report, or the exact API response body.")
def check(text: str | None, as_json: bool, language: str, platform: str | None, fmt: str) -> None:
    """Coach your own draft (TEXT or stdin) before sending it; nothing is stored.

    Exit status: 0 ready, 1 revise, 2 bad input.
    """
    req, result = _run("check", text, as_json, language=language, platform=platform)
    click.echo(msgspec.json.encode(result).decode() if fmt == "json" else render_check(req.text, result))
    sys.exit(0 if result.verdict.action == "ready" else 1)


def _run(verb: str, text: str | None, as_json: bool, **fields: object):  # type: ignore[no-untyped-def]
    """Build the request from TEXT, stdin or a JSON body and run ``Analyzer.<verb>``; bad input exits 2."""
    raw = text if text is not None else sys.stdin.read()
    try:
        if as_json:
            req = msgspec.json.decode(raw.encode(), type=AnalyzeRequest)
        else:
            body = raw.rstrip("\n") if text is None else raw
            req = msgspec.convert({"text": body, **{k: v for k, v in fields.items() if v is not None}}, AnalyzeRequest)
        return req, getattr(_analyzer(), verb)(req)
    except (msgspec.ValidationError, msgspec.DecodeError, TextsvcError) as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
def openapi(output: Path | None) -> None:
    """Print the OpenAPI document (YAML) generated from the app."""
    from textsvc.app import create_app, openapi_yaml

    content = openapi_yaml(create_app(Settings()))
    if output:
        output.write_text(content, encoding="utf-8")
    else:
        click.echo(content, nl=False)


@main.group()
def lexicon() -> None:
    """Work on the phrase lexicon (corpora/lexicon)."""


def _corpora_and_rare_word_zipf() -> tuple[Path, float]:
    """The corpora folder and the policy's rare-word threshold, which the classifier's features use."""
    from textsvc.policy import load_policy

    corpora = Settings.from_env().corpora_dir
    return corpora, load_policy(corpora / "policy.toml").personalization.rare_word_zipf


@lexicon.command("check")
def lexicon_check() -> None:
    """Validate every family and run every example; exit 1 on any problem."""
    from textsvc.classifier import SentenceClassifier
    from textsvc.classifier import example_problems as classifier_problems
    from textsvc.errors import LexiconError
    from textsvc.lexicon import load_lexicon
    from textsvc.nlp import SUPPORTED_LANGUAGES, build_pipeline
    from textsvc.phrases import PhraseChecker, example_problems, slip_problems

    corpora, max_zipf = _corpora_and_rare_word_zipf()
    problems: list[str] = []
    for lang in SUPPORTED_LANGUAGES:
        try:
            lex = load_lexicon(corpora / "lexicon", lang)
            pipeline = build_pipeline(lang)
            checker = PhraseChecker(pipeline, lex)
            found = slip_problems(lex) + example_problems(pipeline, checker)
            found += classifier_problems(pipeline, checker, SentenceClassifier.load(corpora / "classifier", lang), max_zipf)
        except LexiconError as exc:
            found = [str(exc)]
        else:
            n_ex = sum(len(p.hits) + len(p.misses) for p in lex.phrases)
            click.echo(f"{lang}: {len(lex.phrases)} families, {n_ex} examples, {len(found)} problems")
        problems += found
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(1 if problems else 0)


@lexicon.command("train")
def lexicon_train() -> None:
    """Refit the sentence classifier (corpora/classifier/<lang>.weights.json) from the lexicon's
    examples, the fit split of corpora/eval and corpora/dev; run it after changing any of them."""
    from textsvc.classifier import train
    from textsvc.nlp import SUPPORTED_LANGUAGES

    corpora, max_zipf = _corpora_and_rare_word_zipf()
    for lang in SUPPORTED_LANGUAGES:
        trained = train(corpora, lang, max_zipf)
        path = corpora / "classifier" / f"{lang}.weights.json"
        path.write_text(json.dumps(trained, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        t = trained["trained_on"]
        click.echo(f"{lang}: {t['sentences']} sentences ({t['generic']} generic) from the lexicon and "
                   f"{t['messages']} messages; {len(trained['weights'])} weights -> {path}")


@main.group()
def templates() -> None:
    """Grow and inspect the template corpus in the SQLite file ($TEXTSVC_DB_PATH)."""


def _store():  # type: ignore[no-untyped-def]
    from textsvc.store import Store

    return Store(Settings.from_env().db_path)


@templates.command("import")
@click.argument("file", type=click.File("rb"))
def templates_import(file) -> None:  # type: ignore[no-untyped-def]
    """Import NDJSON or a JSON array from FILE (- for stdin); idempotent; bad lines are reported."""
    from textsvc.corpus import import_templates, parse_import
    from textsvc.policy import load_policy

    policy = load_policy(Settings.from_env().corpora_dir / "policy.toml")
    parsed = parse_import(file.read(), min_words=policy.templates.min_words)
    with click.progressbar(length=len(parsed.items), label="importing", file=sys.stderr) as bar:
        report = import_templates(_store(), parsed, progress=bar.update)
    for r in report.rejected:
        click.echo(f"line {r.line}: {r.detail}", err=True)
    click.echo(f"received {report.received}, inserted {report.inserted}, duplicates {report.duplicates}, "
               f"rejected {len(report.rejected)}")
    sys.exit(1 if report.rejected else 0)


@templates.command("export")
def templates_export() -> None:
    """Write the whole corpus as NDJSON to stdout (what `templates import` reads)."""
    from textsvc.corpus import export_lines

    out = click.get_binary_stream("stdout")
    for line in export_lines(_store().iter_all()):
        out.write(line)


@templates.command("list")
@click.option("--language", type=click.Choice(["de", "en"]), default=None)
@click.option("--status", type=click.Choice(["active", "pending", "suspended"]), default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def templates_list(language: str | None, status: str | None, limit: int) -> None:
    """List templates: id, status, times seen, the start of the text."""
    _print_templates(_store().list(language=language, status=status, limit=limit)[0])


@templates.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def templates_search(query: str, limit: int) -> None:
    """Find templates whose text contains QUERY (case-insensitive)."""
    _print_templates(_store().list(q=query, limit=limit)[0])


@templates.command("delete")
@click.argument("template_id")
def templates_delete(template_id: str) -> None:
    """Delete one template by id."""
    try:
        _store().delete(template_id)
    except TextsvcError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"deleted {template_id}")


def _print_templates(items) -> None:  # type: ignore[no-untyped-def]
    for t in items:
        preview = " ".join(t.text.split())[:70]
        click.echo(f"{t.id:<18} {t.language} {t.status:<9} {t.times_seen:>5}×  {preview}")


def _analyzer():  # type: ignore[no-untyped-def]
    from textsvc.engine import Analyzer
    from textsvc.store import Store

    settings = Settings.from_env()
    return Analyzer(settings, Store(settings.db_path))


def render(text: str, r: AnalyzeResponse) -> str:
    """A readable report: verdict, the text with markers under each finding, then the reasons."""
    action = {"accept": "ANNEHMEN", "review": "PRÜFEN", "decline": "ABLEHNEN"}[r.verdict.action]
    if r.language.code == "en":
        action = r.verdict.action.upper()
    lines = [f"{action}  score {r.verdict.score}/100 · personalization {r.personalization.score}/100 · {r.language.code}"]
    lines += _marked(text, r.matches)
    for t in r.template_matches:
        lines.append(f"template {t.template_id}: {t.similarity:g} % similar ({t.level}, seen {t.times_seen}×)")
    for c in r.profile_checks:
        if c.status != "unknown":
            lines.append(f"profile {c.id}: {c.status} — {c.message}")
    lines.append("score: " + " ".join(f"{e.id} {e.points:+d}" for e in r.explanations))
    return "\n".join(lines)


def render_check(text: str, r: CheckResponse) -> str:
    """The coach's report: ready or revise, the draft with markers, then what to add or fix."""
    action = ("BEREIT" if r.verdict.action == "ready" else "ÜBERARBEITEN") if r.language.code == "de" else r.verdict.action.upper()
    limit = f" · {r.length.chars}/{r.length.limit} Zeichen" if r.length.limit else ""
    lines = [f"{action}  personalization {r.personalization.score}/100 · {r.language.code}{limit}"]
    lines += _marked(text, r.matches)
    lines += [f"{'✗' if s.severity == 'blocker' else '•'} {s.message}" for s in r.suggestions]
    return "\n".join(lines)


def _marked(text: str, matches: list[Match]) -> list[str]:
    lines = []
    for line_start, line in _lines(text):
        lines.append("  " + line)
        for m in matches:
            if line_start <= m.start < line_start + len(line) + 1:
                col = m.start - line_start
                width = max(1, min(m.end, line_start + len(line)) - m.start)
                lines.append("  " + " " * col + _MARK.get(m.category, "^") * width + f" {m.rule_id}")
                lines.append("  " + " " * col + f"  {m.message}")
                for rep in m.replacements[:2]:
                    lines.append("  " + " " * col + f"  → {rep.value}")
    return lines


def _lines(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


if __name__ == "__main__":  # pragma: no cover
    main()
