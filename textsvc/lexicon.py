"""The phrase lexicon: TOML data in ``corpora/lexicon/<lang>/*.toml``, loaded, validated, compiled.

A file is one group of phrase families (LanguageTool's rulegroup, rspamd's symbol group). Each
``[[phrase]]`` family carries its id, weight, message, hint, replacements, patterns and its own examples
(``hit`` with the expected span in ``[brackets]``, ``miss`` without a match). See
``corpora/README.md`` for the pattern syntax; in short, a pattern is a space-separated list of
token specs:

=============  ====================================================================
``netzwerk``   any inflected form: matches the case-folded lemma (``Netzwerks``)
``"gern"``     this exact word (case-folded surface form; informal forms like "pls" stay apart)
``schließ*``   a word starting with ``schließ``
``a|b|c``      alternatives (all of one kind: lemmas, or exact/prefix words)
``x?``         optional; ``x+`` one or more
``!nicht|kein`` any single word except these lemmas
``@poss``      a named word set from a ``[sets]`` table of any file of the language
``_``          any single word; ``~`` / ``~N`` a gap of up to 3 / N words in the same sentence
``(a b|c)``    a group of whole wordings (``(a b|c)?`` optional); expanded before compiling
``^``          the next word starts a sentence
``#num``       a number, in digits or words
=============  ====================================================================
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textsvc.errors import LexiconError
from textsvc.normalize import fold

CATEGORIES = ("GENERIC_PHRASE", "PERSONAL_SIGNAL")
_SENTENCE_END = frozenset(".!?")
_ID = re.compile(r"^(DE|EN)_[A-Z0-9_]+$")
_MARK = re.compile(r"\[([^\[\]]+)\]")

LemmaFn = Callable[[str], str]
SplitFn = Callable[[str], list[str]]
WordFn = Callable[[str], str]


def _as_written(word: str) -> str:
    return word


@dataclass(frozen=True, slots=True)
class Example:
    """An example sentence; ``spans`` are the expected ``(start, end)`` of the family's matches."""

    text: str
    spans: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, marked: str) -> Example:
        spans: list[tuple[int, int]] = []
        plain: list[str] = []
        pos = 0
        for m in _MARK.finditer(marked):
            plain.append(marked[pos : m.start()])
            start = sum(len(p) for p in plain)
            plain.append(m.group(1))
            spans.append((start, start + len(m.group(1))))
            pos = m.end()
        plain.append(marked[pos:])
        return cls(text="".join(plain), spans=tuple(spans))


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase family: an idea with all the ways people word it."""

    id: str
    lang: str
    group: str
    category: str
    weight: float
    message: str
    short_message: str
    replacements: tuple[str, ...]  # concrete wordings that can take the span's place ("…" = fill in)
    hint: str  # one sentence of advice: what to write instead
    patterns: tuple[str, ...]
    hits: tuple[Example, ...]
    misses: tuple[Example, ...]
    signal: str | None = None
    picky: bool = False


@dataclass(frozen=True, slots=True)
class Lexicon:
    """All phrase families of one language plus the named word sets their patterns use."""

    lang: str
    phrases: tuple[Phrase, ...]
    sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Words the patterns spell out that are no slips though no dictionary knows them ("viber"):
    # ``[words] known`` in any file of the language.
    known: frozenset[str] = frozenset()
    version: str = ""

    def by_id(self) -> dict[str, Phrase]:
        return {p.id: p for p in self.phrases}


def load_lexicon(root: Path, lang: str) -> Lexicon:
    """Read every ``*.toml`` under ``root/lang``; raise ``LexiconError`` naming file and phrase."""
    folder = root / lang
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise LexiconError(f"{folder}: no lexicon files")
    digest = hashlib.sha256()
    phrases: list[Phrase] = []
    sets: dict[str, tuple[str, ...]] = {}
    known: set[str] = set()
    for path in files:
        raw = path.read_bytes()
        digest.update(path.name.encode() + raw)
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LexiconError(f"{path}: {exc}") from exc
        for name, words in data.get("sets", {}).items():
            if name in sets:
                raise LexiconError(f"{path}: set @{name} is defined twice")
            sets[name] = tuple(words)
        known.update(fold(w) for w in data.get("words", {}).get("known", []))
        phrases.extend(_phrases_of(path, lang, data))
    seen: set[str] = set()
    for p in phrases:
        if p.id in seen:
            raise LexiconError(f"{lang}: phrase id {p.id} is used twice")
        seen.add(p.id)
    return Lexicon(lang=lang, phrases=tuple(phrases), sets=sets, known=frozenset(known), version=digest.hexdigest()[:12])


_FIELDS = frozenset("id weight message short hint replacements patterns hit miss category signal picky".split())


def _phrases_of(path: Path, lang: str, data: dict[str, Any]) -> Iterable[Phrase]:
    group = data.get("group", path.stem)
    default_category = data.get("category", "GENERIC_PHRASE")
    for entry in data.get("phrase", []):
        pid = entry.get("id", "?")
        where = f"{path.name}:{pid}"
        unknown = set(entry) - _FIELDS
        if unknown:
            raise LexiconError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            phrase = Phrase(
                id=pid,
                lang=lang,
                group=group,
                category=entry.get("category", default_category),
                weight=float(entry["weight"]),
                message=entry["message"],
                short_message=entry.get("short", data.get("short", "")),
                replacements=tuple(entry.get("replacements", ())),
                hint=entry.get("hint", ""),
                patterns=tuple(entry["patterns"]),
                hits=tuple(Example.parse(h) for h in entry.get("hit", ())),
                misses=tuple(Example.parse(m) for m in entry.get("miss", ())),
                signal=entry.get("signal", data.get("signal")),
                picky=bool(entry.get("picky", False)),
            )
        except KeyError as exc:
            raise LexiconError(f"{where}: missing field {exc.args[0]}") from exc
        problems = validate_phrase(phrase)
        if problems:
            raise LexiconError(f"{where}: " + "; ".join(problems))
        yield phrase


def validate_phrase(p: Phrase) -> list[str]:
    """The schema rules a family must follow; the example checks run in the tests."""
    problems = []
    if not _ID.match(p.id) or not p.id.startswith(p.lang.upper() + "_"):
        problems.append(f"id must be SCREAMING_SNAKE with prefix {p.lang.upper()}_")
    if p.category not in CATEGORIES:
        problems.append(f"category {p.category!r} is not one of {CATEGORIES}")
    if p.category == "PERSONAL_SIGNAL" and not p.signal:
        problems.append("a PERSONAL_SIGNAL family needs a signal name")
    if not 0 < p.weight <= 100:
        problems.append("weight must be in (0, 100]")
    if not p.patterns:
        problems.append("no patterns")
    if not p.hits or not p.misses:
        problems.append("needs at least one hit and one miss example")
    if any(not h.spans for h in p.hits):
        problems.append("every hit example marks its span in [brackets]")
    if any(m.spans for m in p.misses):
        problems.append("miss examples carry no [brackets]")
    if p.category == "GENERIC_PHRASE" and not p.replacements:
        problems.append("a generic phrase needs at least one replacement")
    if p.hint and _sentences(p.hint) != 1:
        problems.append("the hint must be exactly one sentence")
    if _sentences(p.message) != 1:
        problems.append("the message must be exactly one sentence")
    return problems


def _sentences(text: str) -> int:
    text = text.strip()
    if not text or text[-1] not in _SENTENCE_END:
        return 0
    return len(re.findall(r"[.!?](?:\s+[A-ZÄÖÜ]|$)", text))


# --- pattern compilation -------------------------------------------------------------------

_GAP = re.compile(r"^~(\d*)$")
MAX_EXPANSIONS = 64  # wordings one pattern with groups may stand for


def expand_groups(pattern: str) -> list[str]:
    """The wordings a pattern with groups stands for: ``(as per|according to) your request`` is
    ``as per your request`` and ``according to your request``; ``(…)?`` adds the wording without
    the group. Inside a group ``|`` separates whole wordings; groups do not nest. An element that
    does not open a group keeps its meaning (``.|,|)`` is punctuation)."""
    parts: list[list[str]] = []  # alternatives per position; a plain element has one
    group: list[str] | None = None
    for elem in pattern.split():
        if group is None and len(elem) > 1 and elem.startswith("("):
            group, elem = [], elem[1:]
        if group is None:
            if "(" in elem and elem != "(" and not elem.startswith('"'):
                raise LexiconError(f"pattern {pattern!r}: a group takes a whole slot: write (a|b c), not {elem!r}")
            parts.append([elem])
            continue
        if elem.startswith("("):
            raise LexiconError(f"pattern {pattern!r}: groups do not nest")
        optional = elem.endswith(")?")
        closing = optional or elem.endswith(")")
        group.append(elem[: -2 if optional else -1] if closing else elem)
        if closing:
            wordings = [w.strip() for w in " ".join(group).split("|")]
            if any(not w for w in wordings):
                raise LexiconError(f"pattern {pattern!r}: empty wording in a group")
            parts.append(wordings + ([""] if optional else []))
            group = None
    if group is not None:
        raise LexiconError(f"pattern {pattern!r}: a group is not closed")
    out = [""]
    for alternatives in parts:
        out = [f"{head} {alt}".strip() for head in out for alt in alternatives]
        if len(out) > MAX_EXPANSIONS:
            raise LexiconError(f"pattern {pattern!r} stands for more than {MAX_EXPANSIONS} wordings")
    return out
# After a suffix: the inflection endings of German and English nouns (Konferenz-en, Meetup-s).
_INFLECTION = "(?:e|en|n|s|es|er|ern|nen)?"
_NOT_END = {"NOT_IN": [".", "!", "?"]}
# A compiled pattern may end in {NEXT_NOT: spec, TO_SENTENCE_END: bool}: a condition on the token
# after the match, not part of it ("connect >!you": "love to connect" but not "connect you with my
# colleague"), or with "$" on every token up to the sentence end (no word follows). spaCy's
# Matcher has no lookahead; RuleMatcher checks it.
NEXT_NOT = "_NEXT_NOT"
TO_SENTENCE_END = "_TO_SENTENCE_END"  # with "$": no token up to the sentence end may satisfy it
_WORD = {"NORM": {"REGEX": r"\w"}}


def compile_pattern(
    pattern: str, lexicon_sets: dict[str, tuple[str, ...]], lemma: LemmaFn, split: SplitFn,
    meant: WordFn = _as_written, norm: WordFn = fold,
) -> list[dict[str, Any]]:
    """Compile one pattern string into a spaCy ``Matcher`` token pattern.

    The pipeline reads a text's words as the words meant ("Netzwek" → "Netzwerk", "fuer" →
    "für"), its lemmas with informal forms in full ("thx" → "thanks"). ``meant`` and ``norm``
    read a literal the same way: a lemma literal stands for its own lemma and that of the word
    it means ("u" also for "you"), an exact literal for its ``NORM`` ("pls" stays "pls"). Raises
    ``LexiconError`` for syntax it cannot read.
    """
    tokens: list[dict[str, Any]] = []
    anchored = False
    elems = pattern.split()
    lookahead: list[dict[str, Any]] = []  # at most one {NEXT_NOT: spec}, from a final "$" or ">!x"
    if elems and (elems[-1] == "$" or elems[-1].startswith(">!")):
        last = elems.pop()
        specs = [_WORD] if last == "$" else _compile_element(last[2:], lexicon_sets, lemma, split, meant, norm)
        if len(specs) != 1 or "OP" in specs[0]:
            raise LexiconError(f"pattern {pattern!r}: >! takes one word, without ? or +")
        lookahead = [{NEXT_NOT: specs[0], TO_SENTENCE_END: last == "$"}]
    if any(e == "$" or e.startswith(">!") for e in elems):
        raise LexiconError(f"pattern {pattern!r}: $ and >! can only end a pattern")
    for elem in elems:
        if elem == "^":
            anchored = True
            continue
        start = len(tokens)
        gap = _GAP.match(elem)
        if gap:
            n = int(gap.group(1) or 3)
            tokens.append({"NORM": _NOT_END, "IS_SENT_START": False, "OP": f"{{0,{n}}}"})
        elif elem in ("_", "_?"):
            tokens.append({"NORM": _NOT_END, "OP": "?"} if elem == "_?" else {"NORM": _NOT_END})
        elif elem == "#num":
            tokens.append({"LIKE_NUM": True})
        else:
            tokens.extend(_compile_element(elem, lexicon_sets, lemma, split, meant, norm))
        if anchored:
            if tokens[start].get("OP"):
                raise LexiconError(f"pattern {pattern!r}: ^ must precede a word that is always there")
            tokens[start]["IS_SENT_START"] = True
            anchored = False
    if anchored:
        raise LexiconError(f"pattern {pattern!r}: ^ at the end anchors nothing")
    if not tokens or all(t.get("OP", "") in ("?", "*") or "{0," in t.get("OP", "") for t in tokens):
        raise LexiconError(f"pattern {pattern!r} can match nothing or the empty string")
    return tokens + lookahead


def _compile_element(
    elem: str, sets: dict[str, tuple[str, ...]], lemma: LemmaFn, split: SplitFn,
    meant: WordFn = _as_written, norm: WordFn = fold,
) -> list[dict[str, Any]]:
    op = ""
    # "x?" is optional, but in ".|!|?" the "?" is the question mark
    if len(elem) > 1 and elem[-1] in "?+" and elem[-2] != "|" and not elem.endswith('"'):
        elem, op = elem[:-1], elem[-1]
    negate = elem.startswith("!") and len(elem) > 1 and elem[1] != "|"  # "!|." is punctuation
    if negate:
        elem = elem[1:]
    alts: list[str] = []
    for alt in elem.split("|"):
        if alt.startswith("@"):
            if alt[1:] not in sets:
                raise LexiconError(f"unknown word set {alt}")
            alts.extend(sets[alt[1:]])
        else:
            alts.append(alt)
    if not alts or any(not a for a in alts):
        raise LexiconError(f"empty alternative in {elem!r}")
    # A single bare word the tokenizer splits ("I'd", "z.B.") becomes a token sequence.
    if len(alts) == 1 and not negate and not op and _kind(alts[0]) == "lemma":
        parts = split(alts[0])
        if len(parts) > 1:
            return [_plain({"LEMMA": {"IN": _lemma_forms(p, lemma, meant)}}) for p in parts]
    kinds = {_kind(a) for a in alts} - {"any"} or {"lemma"}
    if kinds == {"lemma"}:
        values = sorted({f for a in alts for f in _lemma_forms(a, lemma, meant)})
        spec: dict[str, Any] = {"LEMMA": {"NOT_IN" if negate else "IN": values}}
    elif "lemma" in kinds and kinds <= {"lemma", "prefix", "suffix"}:
        # "austausch*|sprechen|*konferenz": lemmas, prefixes and suffixes in one regular
        # expression over LEMMA. A compound simplemma does not know keeps its inflected form as
        # its lemma ("branchenkonferenzen"), so a suffix may be followed by an inflection ending.
        regex = "|".join(
            re.escape(lemma(a[:-1]) if len(a) > 2 else fold(a[:-1])) + r"\w*" if _kind(a) == "prefix"
            else ".*" + re.escape(fold(a[1:])) + _INFLECTION if _kind(a) == "suffix"
            else "|".join(re.escape(f) for f in _lemma_forms(a, lemma, meant))
            for a in alts
        )
        spec = {"LEMMA": {"REGEX": f"^(?:{regex})$"}}
        if negate:
            raise LexiconError(f"{elem!r}: negation works on lemmas and exact words only")
    elif "lemma" in kinds:
        raise LexiconError(f"{elem!r} mixes lemmas with exact words")
    elif kinds == {"exact"}:
        values = sorted({norm(a.strip('"')) for a in alts})
        spec = {"NORM": {"NOT_IN" if negate else "IN": values}}
    else:
        regex = "|".join(
            re.escape(fold(a[:-1])) + r"\w*" if _kind(a) == "prefix"
            else ".*" + re.escape(fold(a[1:])) + _INFLECTION if _kind(a) == "suffix"
            else re.escape(norm(a.strip('"')))
            for a in alts
        )
        spec = {"NORM": {"REGEX": f"^(?:{regex})$"}}
        if negate:
            raise LexiconError(f"{elem!r}: negation works on lemmas and exact words only")
    if negate and "NORM" not in spec:
        spec["NORM"] = _NOT_END  # "any word but …" never swallows the end of a sentence
    if op:
        spec["OP"] = op
    return [_plain(spec)]


def _plain(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"LEMMA": {"IN": [x]}}`` → ``{"LEMMA": x}``: spaCy tests an equality in C, a set in Python."""
    for attr in ("LEMMA", "NORM"):
        value = spec.get(attr)
        if isinstance(value, dict) and list(value) == ["IN"] and len(value["IN"]) == 1:
            spec = {**spec, attr: value["IN"][0]}
    return spec


def _kind(alt: str) -> str:
    if len(alt) > 1 and alt.startswith('"') and alt.endswith('"'):
        return "exact"
    if len(alt) > 1 and alt.endswith("*"):
        return "prefix"
    if len(alt) > 1 and alt.startswith("*"):
        return "suffix"
    if not any(ch.isalnum() for ch in alt):
        return "any"  # punctuation: the same as a lemma and as an exact word
    return "lemma"


def _lemma_forms(word: str, lemma: LemmaFn, meant: WordFn = _as_written) -> list[str]:
    return sorted({fold(word), lemma(word), lemma(meant(word))})
