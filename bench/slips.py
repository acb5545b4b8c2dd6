"""How well the pipeline reads hurried typing: the slip corrector on real words and on real slips.

    python bench/slips.py [--lang de|en] [-v]

corpora/spelling/<lang>_words.txt are real words of contact requests that no dictionary may know
(jargon, compounds, names, brands, towns, Denglisch, dialect): every one the corrector rewrites is
a false correction, which the writing coach would offer as a typo. <lang>_slips.tsv are words
typed with one slip and the word meant. The lists were written in session 5 and the corrector's
rules (first letter, other language, names) were chosen looking at them: they guard against
regressions, they are no held-out measure. Words a lexicon lists as known count as known, as in
the service.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textsvc.lexicon import load_lexicon  # noqa: E402
from textsvc.nlp import SUPPORTED_LANGUAGES, correct_slip, know_words  # noqa: E402

SPELLING = ROOT / "corpora" / "spelling"


def same(a: str, b: str) -> bool:
    return a.lower().replace("ß", "ss") == b.lower().replace("ß", "ss")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", choices=SUPPORTED_LANGUAGES)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every false correction and every miss")
    args = ap.parse_args()
    for lang in [args.lang] if args.lang else SUPPORTED_LANGUAGES:
        know_words(lang, load_lexicon(ROOT / "corpora" / "lexicon", lang).known)
        words = [w for w in (SPELLING / f"{lang}_words.txt").read_text(encoding="utf-8").split("\n") if w]
        false_typed = [(w, correct_slip(w, lang)) for w in words if correct_slip(w, lang) != w]
        false_lower = [(w.lower(), correct_slip(w.lower(), lang)) for w in words
                       if correct_slip(w.lower(), lang) != w.lower()]
        rows = [line.split("\t") for line in (SPELLING / f"{lang}_slips.tsv").read_text(encoding="utf-8").split("\n")[1:] if line]
        fixed = [(t, m) for t, m, _ in rows if same(correct_slip(t, lang), m)]
        wrong = [(t, correct_slip(t, lang), m) for t, m, _ in rows
                 if correct_slip(t, lang) != t and not same(correct_slip(t, lang), m)]
        left = [(t, m) for t, m, _ in rows if correct_slip(t, lang) == t]
        print(f"== {lang}")
        print(f"real words       {len(words):>4}   rewritten as typed {len(false_typed):>3} ({len(false_typed) / len(words):.1%}), "
              f"in lowercase {len(false_lower):>3} ({len(false_lower) / len(words):.1%})")
        print(f"one-slip typos   {len(rows):>4}   corrected {len(fixed):>3} ({len(fixed) / len(rows):.0%}), "
              f"to another word {len(wrong)}, left as typed {len(left)}")
        if args.verbose:
            print("  false corrections:", ", ".join(f"{w} -> {r}" for w, r in false_typed + false_lower))
            print("  wrong corrections:", ", ".join(f"{t} -> {r} (meant {m})" for t, r, m in wrong))
            print("  left as typed:", ", ".join(f"{t} ({m})" for t, m in left))


if __name__ == "__main__":
    main()
