"""How much the sentence classifier adds on text it has not learnt from, per threshold.

    python bench/classifier_cv.py [--lang de|en] [--folds 5]

Each development set in corpora/dev (written blind, by writers who had not seen the lexicon) is
held out in turn: the classifier is trained on the lexicon, the fit split and the other dev sets,
and scored on it. The fit split of corpora/eval is cross-validated in folds the same way. Prints
phrase-span precision and recall of the lexicon alone and of lexicon + classifier at each
threshold, and the sentences it would add wrongly. The test split is never read.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluate import overlap  # noqa: E402  (bench/ is the script's directory)
from textsvc.classifier import (  # noqa: E402
    SentenceClassifier,
    fit,
    read_marked,
    split_of,
    training_rows,
    unmark,
)
from textsvc.lexicon import load_lexicon  # noqa: E402
from textsvc.nlp import build_pipeline, rare_words  # noqa: E402
from textsvc.phrases import PhraseChecker  # noqa: E402
from textsvc.policy import load_policy  # noqa: E402

CORPORA = ROOT / "corpora"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def found(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    """evaluate.py's criterion: overlap of at least half the shorter span."""
    return any(overlap(span, o) >= 0.5 * min(span[1] - span[0], o[1] - o[0]) for o in others)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", choices=["de", "en"])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--lexicon", type=Path, default=CORPORA / "lexicon",
                    help="lexicon folder (e.g. an older one, to see the classifier on wording the lexicon has not learnt)")
    ap.add_argument("--show", type=float, default=0.7, help="list wrong additions at this threshold")
    ap.add_argument("--only", nargs="*", default=[], metavar="NAME",
                    help="hold out only the groups whose name contains one of these (e.g. blind6 blind7)")
    ap.add_argument("--misses", action="store_true", help="also list the gold spans still missed at --show")
    args = ap.parse_args()
    max_zipf = load_policy(CORPORA / "policy.toml").personalization.rare_word_zipf
    for lang in [args.lang] if args.lang else ["de", "en"]:
        pipeline = build_pipeline(lang)
        lexicon = load_lexicon(args.lexicon, lang)
        checker = PhraseChecker(pipeline, lexicon)
        base = SentenceClassifier.load(CORPORA / "classifier", lang)
        lexicon_rows = training_rows(pipeline, checker, lexicon, [], max_zipf)
        no_phrases = replace(lexicon, phrases=())
        groups: dict[str, list[dict]] = {}
        for m in read_marked(CORPORA / "eval" / "messages.jsonl", lang, split="fit"):
            groups.setdefault(f"fit fold {int(m['id'].encode().hex(), 16) % args.folds}", []).append(m)
        for path in sorted((CORPORA / "dev").glob("*.jsonl")):
            if rows := read_marked(path, lang):
                groups[path.name] = rows
        message_rows = {name: training_rows(pipeline, checker, no_phrases, ms, max_zipf) for name, ms in groups.items()}
        print(f"== {lang}: lexicon {lexicon.version}, {len(lexicon_rows)} lexicon sentences")
        print(f"{'held out':<22}{'n':>4}  {'lexicon P/R':<20}" + "".join(f"  {'@' + str(t):<20}" for t in THRESHOLDS))
        totals: dict[object, list[int]] = {}
        for name, messages in sorted(groups.items()):
            if args.only and not any(o in name for o in args.only):
                continue
            assert all(split_of(m["id"]) == "fit" for m in messages if m["id"].startswith("ev-"))
            train = lexicon_rows + [r for other, rows in message_rows.items() if other != name for r in rows]
            bias, weights = fit(train)
            line = f"{name:<22}{len(messages):>4}"
            for threshold in (None, *THRESHOLDS):
                clf = replace(base, bias=bias, weights=weights, threshold=threshold or 2.0)
                tp = fp = fn = added_tp = added_n = 0
                for m in messages:
                    text, gold = unmark(m["marked"])
                    doc = pipeline(text)
                    hits = checker.find(doc)
                    added = clf.find(doc, hits, rare_words(doc, max_zipf))
                    pred = [(h.start, h.end) for h in hits + added if h.phrase.category == "GENERIC_PHRASE"]
                    by_classifier = {(h.start, h.end) for h in added}
                    for p in pred:
                        ok = found(p, gold)
                        tp, fp = tp + ok, fp + (not ok)
                        if p in by_classifier:
                            added_n, added_tp = added_n + 1, added_tp + ok
                        if not ok and threshold == args.show and any((h.start, h.end) == p for h in added):
                            print(f"    wrong at {threshold}: {text[p[0]:p[1]]!r} [{m['label']}]")
                    missed = [g for g in gold if not found(g, pred)]
                    fn += len(missed)
                    if args.misses and threshold == args.show:
                        for g in missed:
                            print(f"    missed at {threshold}: {text[g[0]:g[1]]!r} [{m['label']}]")
                gold_n = sum(len(unmark(m["marked"])[1]) for m in messages)
                t = totals.setdefault(threshold, [0, 0, 0, 0, 0, 0])
                for i, v in enumerate((tp, fp, fn, gold_n, added_tp, added_n)):
                    t[i] += v
                line += cell(tp, fp, fn, gold_n, added_tp, added_n)
            print(line)
        held_out = sum(len(ms) for name, ms in groups.items() if not args.only or any(o in name for o in args.only))
        print(f"{'all':<22}{held_out:>4}"
              + "".join(cell(*totals[t]) for t in (None, *THRESHOLDS)))


def cell(tp: int, fp: int, fn: int, gold: int, added_tp: int, added: int) -> str:
    """Precision/recall as evaluate.py counts them (recall over gold spans), then how many spans
    the classifier added and the share of them that were right."""
    extra = f" +{added}:{added_tp / added:.2f}" if added else ""
    return f"  {tp / max(tp + fp, 1):.2f}/{1 - fn / max(gold, 1):.2f}{extra}".ljust(22)


if __name__ == "__main__":
    main()
