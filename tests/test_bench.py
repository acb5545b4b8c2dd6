"""The evaluation and benchmark scripts run on a small slice, so they cannot rot."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=None if env is None else {**os.environ, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_evaluate_prints_every_measure_per_language():
    out = run("bench/evaluate.py", "--split", "all", "--limit", "12")
    for section in ("== de", "== en", "== all"):
        assert section in out
    for measure in ("phrase spans   precision", "recall@1", "false alarms on personal messages",
                    "personalization AUC", "verdicts", "declined"):
        assert measure in out


def test_evaluate_heldout_is_the_test_split_and_the_blind_sets():
    sys.path.insert(0, str(ROOT / "bench"))
    from evaluate import load

    from textsvc.classifier import split_of

    test, test_variants = load("test", None, None)
    held, held_variants = load("heldout", None, None)
    blind = [m for m in held if m["id"].startswith("ho-")]
    assert held_variants == test_variants and test_variants
    assert [m for m in held if not m["id"].startswith("ho-")] == test and blind
    assert all(split_of(m["id"]) == "test" for m in test)
    assert len(blind) == sum(1 for p in (ROOT / "corpora" / "heldout").glob("*.jsonl")
                             for line in p.read_text(encoding="utf-8").splitlines() if line.strip())


def test_latency_benchmark_runs():
    out = run("bench/latency.py", "--n", "20")
    assert "phrase matching" in out and "requests/s on one core" in out and "max RSS" in out


def test_templates_benchmark_runs_side_by_side_with_brute_force():
    out = run("bench/templates.py", "--sizes", "2000", "--per-kind", "5")
    assert "brute" in out.lower() and "recall" in out.lower()


def test_evaluate_scores_a_development_set_and_names_the_classifiers_share():
    out = run("bench/evaluate.py", "--messages", "corpora/dev/en_blind.jsonl")
    assert "corpora/dev/en_blind.jsonl: 50 messages" in out
    both = run("bench/evaluate.py", "--messages", "corpora/dev/en_blind.jsonl", "corpora/heldout/en_heldout1.jsonl")
    assert "corpora/dev/en_blind.jsonl corpora/heldout/en_heldout1.jsonl: 132 messages" in both
    assert "of which the sentence classifier:" in out
    alone = run("bench/evaluate.py", "--messages", "corpora/dev/en_blind.jsonl", "--lexicon-only", "-v")
    assert "of which the sentence classifier: 0," in alone and "_GENERIC_SENTENCE" not in alone


def test_classifier_cross_validation_holds_out_each_dev_set():
    out = run("bench/classifier_cv.py", "--lang", "en", "--folds", "2")
    assert "en_blind.jsonl" in out and "fit fold 1" in out and "lexicon P/R" in out
    assert out.rstrip().splitlines()[-1].startswith("all")
    one = run("bench/classifier_cv.py", "--lang", "en", "--only", "en_blind8", "--misses", "--show", "0.7")
    assert "en_blind8.jsonl" in one and "fit fold" not in one and "missed at 0.7: " in one


def test_evaluate_reads_the_corpora_the_service_is_told_to(tmp_path):
    """TEXTSVC_CORPORA_DIR applies to evaluate.py as to the service: here a copy whose classifier
    never reports."""
    corpora = shutil.copytree(ROOT / "corpora", tmp_path / "corpora", ignore=shutil.ignore_patterns("dev", "eval"))
    rule = corpora / "classifier" / "en.toml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("threshold = 0.7", "threshold = 2.0")
                    .replace("certain = 0.95", "certain = 2.0"), encoding="utf-8")
    out = run("bench/evaluate.py", "--messages", "corpora/dev/en_blind.jsonl", env={"TEXTSVC_CORPORA_DIR": str(corpora)})
    assert "of which the sentence classifier: 0," in out


def test_noise_keeps_every_mark_on_its_words():
    sys.path.insert(0, str(ROOT / "bench"))
    from evaluate import NOISE, add_noise

    from textsvc.classifier import unmark

    marked = "Hallo Frau Roth, ⟦ich würde gern mein Netzwerk erweitern⟧, ⟦Synergien schließe ich nicht aus⟧. Grüße"
    rng = random.Random(3)
    for kind in NOISE:
        for _ in range(20):
            noisy = add_noise(marked, kind, rng)
            text, spans = unmark(noisy)
            assert len(spans) == 2, (kind, noisy)
            assert [len(text[a:b].split()) for a, b in spans] == [6, 5], (kind, noisy)
            assert all(text[a:b] == text[a:b].strip() for a, b in spans), (kind, noisy)
    assert any(add_noise(marked, "typos", rng) != marked for _ in range(20))


def test_evaluate_measures_robustness_to_hurried_typing():
    out = run("bench/evaluate.py", "--messages", "corpora/dev/en_blind.jsonl", "--noise", "typos")
    assert "corpora/dev/en_blind.jsonl: 50 messages" in out and "phrase spans   precision" in out


def test_slips_benchmark_counts_false_and_missed_corrections():
    out = run("bench/slips.py", "--lang", "en", "-v")
    assert "real words" in out and "one-slip typos" in out and "false corrections:" in out
