"""Evaluate textsvc's judgement on the labelled set in corpora/eval/ and print the numbers.

    python bench/evaluate.py [--split test|heldout|fit|all] [--limit N] [--lang de|en]
    python bench/evaluate.py --messages corpora/heldout/*.jsonl [--lexicon-only] [--noise typos]

Prints, per language and overall: phrase-span precision and recall (overlap of at least half a
span, and exact), template recall@1 on variants per kind and false alarms on personal messages,
the AUC of the personalization score (personal vs. generic and template), and the verdict
confusion matrix. The split is a fixed hash of each id (70 % fit, 30 % test), so weights are
fitted on one part and reported on the other. ``--split heldout`` is all the text nothing learns
from: the test split (its 128 marked spans move the recall by 0.008 each) and every blind set in
corpora/heldout. ``--noise`` first types every message the way a
hurried writer might (slips, all lowercase, no commas, no umlauts), to see what that costs.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textsvc.classifier import split_of, unmark  # noqa: E402
from textsvc.engine import Analyzer  # noqa: E402
from textsvc.schemas import AnalyzeRequest, AnalyzeResponse  # noqa: E402
from textsvc.settings import Settings  # noqa: E402
from textsvc.store import Store  # noqa: E402

EVAL = ROOT / "corpora" / "eval"
HELDOUT = ROOT / "corpora" / "heldout"

# Keys next to each other on a QWERTZ/QWERTY keyboard (the letters a hurried thumb hits instead).
_NEIGHBOURS = dict(zip("qwertzuiopasdfghjklyxcvbnm", (
    "wa qes wrd etf rzg tuh zij uok ipl ol qsy adwx sfec dgrv fhtb gjzn hkum jlim kop asx ycs xvd cbf vng bmh nj"
).split()))
_LONG_WORD = re.compile(r"[^\W\d_]{5,}")
NOISE = ("typos", "lowercase", "nocommas", "ascii", "apostrophes")


def add_noise(marked: str, kind: str, rng: random.Random) -> str:
    """``marked`` as a hurried writer might have typed it; the ⟦ ⟧ marks stay on the same words.

    typos: one slip (letter dropped, doubled, swapped with the next, or a neighbouring key) in
    every fourth word of five letters or more, never the first letter; lowercase: everything;
    nocommas: every comma gone; ascii: ä ö ü ß typed as ae oe ue ss (German keyboards abroad);
    apostrophes: none inside words ("Id love to", "dont")."""
    if kind == "lowercase":
        return marked.lower()
    if kind == "apostrophes":
        return re.sub(r"(?<=\w)['’](?=\w)", "", marked)  # "I'd", "don't" typed "Id", "dont"
    if kind == "nocommas":
        return re.sub(r",(?=[\s⟧]|$)", "", marked)  # "Meier,⟧ wie" -> "Meier⟧ wie": no space enters a mark
    if kind == "ascii":
        def ascii_(m: re.Match) -> str:
            word = m.group()
            for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
                word = word.replace(a, b)
            return word.upper() if m.group().isupper() else word  # "MÜNCHEN" -> "MUENCHEN"

        return re.sub(r"\w+", ascii_, marked)

    def slip(m: re.Match) -> str:
        w = m.group()
        if rng.random() >= 0.25:
            return w
        i = rng.randrange(1, len(w) - 1)
        edit = rng.choice(("drop", "double", "swap", "key"))
        if edit == "drop":
            return w[:i] + w[i + 1:]
        if edit == "double":
            return w[:i] + w[i] + w[i:]
        if edit == "swap":
            return w[:i] + w[i + 1] + w[i] + w[i + 2:]
        near = _NEIGHBOURS.get(w[i].lower())
        return w[:i] + rng.choice(near) + w[i + 1:] if near else w

    return _LONG_WORD.sub(slip, marked)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load(split: str, lang: str | None, limit: int | None,
         messages_files: list[Path] | None = None) -> tuple[list[dict], list[dict]]:
    """The evaluation set's split, or (messages_files) every message of other files and no variants."""
    def keep(row: dict) -> bool:
        return (split == "all" or split_of(row["id"]) == split) and (lang is None or row["language"] == lang)

    if messages_files:
        split, variants = "all", []
        messages = [m for path in messages_files for m in read_jsonl(path)]
    else:
        messages = read_jsonl(EVAL / "messages.jsonl")
        variants = read_jsonl(EVAL / "template_variants.jsonl")
        if split == "heldout":  # the test split and the blind held-out sets
            messages = [m for m in messages if split_of(m["id"]) == "test"]
            messages += [m for path in sorted(HELDOUT.glob("*.jsonl")) for m in read_jsonl(path)]
            variants = [v for v in variants if split_of(v["id"]) == "test"]
            split = "all"
    messages, variants = [m for m in messages if keep(m)], [v for v in variants if keep(v)]
    if limit is None:
        return messages, variants

    def per_language(rows: list[dict]) -> list[dict]:  # a slice keeps both languages
        return [r for lang in ("de", "en") for r in [x for x in rows if x["language"] == lang][:limit]]

    return per_language(messages), per_language(variants)


@dataclass
class Tally:
    span_tp: int = 0
    span_fp: int = 0
    span_fn: int = 0
    exact_tp: int = 0
    gold_total: int = 0
    pred_total: int = 0
    variants: Counter = field(default_factory=Counter)
    variants_hit: Counter = field(default_factory=Counter)
    personal_total: int = 0
    personal_false_alarms: int = 0
    scores: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    confusion: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    false_positives: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    classifier_tp: int = 0  # of the spans above, those the sentence classifier found
    classifier_fp: int = 0


def overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def score_spans(t: Tally, text: str, gold: list[tuple[int, int]], r: AnalyzeResponse) -> None:
    generic = [m for m in r.matches if m.category == "GENERIC_PHRASE"]
    pred = [(m.start, m.end) for m in generic]
    t.gold_total += len(gold)
    t.pred_total += len(pred)
    for m, p in zip(generic, pred):
        by_classifier = m.rule_id.endswith("_GENERIC_SENTENCE")
        if any(overlap(p, g) >= 0.5 * min(p[1] - p[0], g[1] - g[0]) for g in gold):
            t.span_tp += 1
            t.classifier_tp += by_classifier
        else:
            t.span_fp += 1
            t.classifier_fp += by_classifier
            t.false_positives.append(f"{text[p[0]:p[1]]!r}  {m.rule_id}  in  {text[:90]!r}")
        t.exact_tp += p in gold
    for g in gold:
        if not any(overlap(p, g) >= 0.5 * min(p[1] - p[0], g[1] - g[0]) for p in pred):
            t.span_fn += 1
            t.misses.append(repr(text[g[0]:g[1]]))


def auc(pos: list[int], neg: list[int]) -> float:
    """P(score of a random positive > score of a random negative), ties count half."""
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def run(analyzer: Analyzer, messages: list[dict], variants: list[dict]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    for m in messages:
        text, gold = unmark(m["marked"])
        req = msgspec.convert({"text": text, "language": m["language"], "recipient": m.get("recipient")}, AnalyzeRequest)
        r = analyzer.analyze(req)
        for key in (m["language"], "all"):
            t = tallies[key]
            score_spans(t, text, gold, r)
            t.scores[m["label"]].append(r.personalization.score)
            t.confusion[m["label"]][r.verdict.action] += 1
            if m["label"] == "personal":
                t.personal_total += 1
                t.personal_false_alarms += bool(r.template_matches)
    for v in variants:
        req = AnalyzeRequest(text=v["text"], language=v["language"])
        r = analyzer.analyze(req)
        top = r.template_matches[0].template_id if r.template_matches else None
        for key in (v["language"], "all"):
            t = tallies[key]
            t.variants[v["kind"]] += 1
            t.variants_hit[v["kind"]] += top == v["templateId"]
            t.scores["template"].append(r.personalization.score)
            t.confusion["template"][r.verdict.action] += 1
    return tallies


def report(name: str, t: Tally, verbose: bool) -> None:
    p = t.span_tp / max(t.span_tp + t.span_fp, 1)
    rec = (t.gold_total - t.span_fn) / max(t.gold_total, 1)
    print(f"\n== {name}")
    print(f"phrase spans   precision {p:.3f}  recall {rec:.3f}  (overlap ≥ half; gold {t.gold_total}, "
          f"predicted {t.pred_total}, exact {t.exact_tp})")
    c = t.classifier_tp + t.classifier_fp
    print(f"               of which the sentence classifier: {c}, precision {t.classifier_tp / max(c, 1):.3f}")
    total_v, hit_v = sum(t.variants.values()), sum(t.variants_hit.values())
    kinds = "  ".join(f"{k} {t.variants_hit[k]}/{n}" for k, n in sorted(t.variants.items()))
    print(f"templates      recall@1 {hit_v / max(total_v, 1):.3f} ({hit_v}/{total_v})  [{kinds}]")
    print(f"               false alarms on personal messages {t.personal_false_alarms}/{t.personal_total}")
    personal = t.scores["personal"]
    rest = t.scores["generic"] + t.scores["template"]
    print(f"personalization AUC personal vs generic+template {auc(personal, rest):.3f}  "
          f"(vs generic {auc(personal, t.scores['generic']):.3f}, vs template {auc(personal, t.scores['template']):.3f})")
    for label in ("personal", "generic", "template", "empty"):
        s = sorted(t.scores[label])
        if s:
            print(f"  score {label:<9} n={len(s):<4} p10 {s[len(s) // 10]:>3}  median {s[len(s) // 2]:>3}  p90 {s[len(s) * 9 // 10]:>3}")
    print("verdicts       " + " ".join(f"{a:>8}" for a in ("accept", "review", "decline")))
    for label in ("personal", "generic", "template", "empty"):
        row = t.confusion.get(label)
        if row:
            n = sum(row.values())
            print(f"  {label:<12} " + " ".join(f"{row[a]:>8}" for a in ("accept", "review", "decline"))
                  + f"   declined {row['decline'] / n:.1%}")
    if verbose:
        print("  false positive spans:", *t.false_positives[:40], sep="\n    ")
        print("  missed spans:", *t.misses[:60], sep="\n    ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["test", "heldout", "fit", "all"], default="test",
                    help="test: the evaluation set's test split; heldout: that and every set in corpora/heldout")
    ap.add_argument("--lang", choices=["de", "en"])
    ap.add_argument("--limit", type=int, help="at most this many messages and variants per language")
    ap.add_argument("--messages", type=Path, nargs="+", metavar="FILE",
                    help="evaluate every message of these JSONL files (same format) instead of corpora/eval, "
                         "e.g. corpora/heldout/*.jsonl")
    ap.add_argument("--lexicon-only", action="store_true",
                    help="switch the sentence classifier off, to see what the phrase families alone find")
    ap.add_argument("--noise", choices=NOISE,
                    help="perturb every message first (seeded, marks kept): how robust the judgement is to hurried typing")
    ap.add_argument("-v", "--verbose", action="store_true", help="list false positive and missed spans")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(db_path=Path(tmp) / "eval.db")  # TEXTSVC_CORPORA_DIR, TEXTSVC_SPACY_MODEL apply
        analyzer = Analyzer(settings, Store(settings.db_path))
        if args.lexicon_only:
            analyzer.classifiers = {lang: replace(c, threshold=2.0) for lang, c in analyzer.classifiers.items()}
        messages, variants = load(args.split, args.lang, args.limit, args.messages)
        if args.noise:
            rng = random.Random(7)
            messages = [{**m, "marked": add_noise(m["marked"], args.noise, rng)} for m in messages]
        print(f"{' '.join(map(str, args.messages)) if args.messages else 'split ' + args.split}: {len(messages)} messages, {len(variants)} template variants; "
              f"ruleset {analyzer.ruleset_version}")
        tallies = run(analyzer, messages, variants)
        for name in sorted(tallies, key=lambda k: (k == "all", k)):
            report(name, tallies[name], args.verbose)


if __name__ == "__main__":
    main()
