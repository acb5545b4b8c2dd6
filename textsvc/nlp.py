"""The spaCy pipelines and word statistics: the only module that imports spaCy, simplemma, wordfreq.

Each supported language gets one pipeline, built once at start-up and shared by every check:

``spacy.blank(lang)`` → ``sentencizer`` and ``textsvc_line_breaks`` (a line break ends a
sentence) → ``textsvc_norm`` (case-folded ``NORM``, ß → ss, umlauts restored, a slip corrected:
"fuer" → "für", "Netzwek" → "netzwerk") → ``textsvc_lemmatizer`` (simplemma, case-folded
``LEMMA`` of the word meant, informal forms in full too: "thx" → "thanks"; German "ss" typed
for "ß" read as "ß" where only that is a word: "schliess") → English only: ``textsvc_en_clitics``
("youre", "Id love to": "be", "would") → German only: ``textsvc_verb_first`` ("Würde mich
freuen": the opener is a verb) → ``textsvc_separable_verbs`` ("schließe … nicht aus" gives
"schließe" the lemma ``ausschließen``). Offsets never change: only ``NORM`` and ``LEMMA`` do.

simplemma was measured best here (96.6 % lemma accuracy on UD German GSD at >100k tokens/s);
spaCy's lookup tables reach 85 % and map "Sie" to "ich". When ``TEXTSVC_SPACY_MODEL`` names an
installed trained pipeline (``de_core_news_sm`` …) it replaces the blank German one; its lemmas
are case-folded and its ``PTKVZ`` tags drive the particle joining.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec
import numpy
import platformdirs
import simplemma
import spacy
import wordfreq
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy, LemmatizationStrategy
from simplemma.strategies.dictionaries.stream_dictionary_factory import StreamDictionaryFactory, StreamMap
from simplemma.token_sampler import MostCommonTokenSampler, RelaxedMostCommonTokenSampler
from simplemma.utils import normalize_token
from spacy.attrs import IDX, IS_SPACE, LEMMA, LIKE_NUM, NORM, ORTH
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.strings import get_string_id
from spacy.tokens import Doc, Token

from textsvc.lexicon import NEXT_NOT, TO_SENTENCE_END
from textsvc.normalize import fold

SUPPORTED_LANGUAGES = ("de", "en")



class _StreamDictionaries(StreamDictionaryFactory):
    """simplemma's low-memory dictionaries: each language's front-coded data stays one bytes
    object (18 MB for de+en instead of a 132 MB dict per worker); a lookup decodes one block of
    32 entries: ~25 µs instead of ~11 µs for a word not seen before (then cached), same lemmas
    (57k words compared). Loading one walks every record to index the blocks (0.5 s for German,
    in every worker); the index is kept in the user's cache directory, keyed by simplemma's
    version and data file, and read back in 0.02 s. A cache that cannot be read or written is
    rebuilt or skipped: it only saves time."""

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        data = Path(simplemma.__file__).parent / "strategies" / "dictionaries" / "data" / f"{lang}.plzma"
        stat = data.stat()
        cache = Path(platformdirs.user_cache_dir("textsvc")) / (
            f"simplemma-{simplemma.__version__}-{lang}-{stat.st_size}-{stat.st_mtime_ns}.msgpack"
        )
        try:
            fields = msgspec.msgpack.decode(cache.read_bytes())
            stream = StreamMap.__new__(StreamMap)
            stream._data, stream._pos, stream._rev, stream._count, stream._firsts, blocks = fields
            stream._blocks = [tuple(block) for block in blocks]
            if len(stream._firsts) == len(stream._blocks) > 0:
                return stream
        except (OSError, ValueError, TypeError, AttributeError, msgspec.DecodeError):
            pass
        stream = StreamMap(lang)
        _write_cache(cache, msgspec.msgpack.encode(
            [stream._data, stream._pos, stream._rev, stream._count, stream._firsts, stream._blocks]
        ), replaces=f"simplemma-*-{lang}-*.msgpack")
        return stream


def user_cache(name: str, build: Callable[[], Any], *, replaces: str) -> Any:
    """``build()``, kept as msgpack in the user's cache directory under ``name``, a key that must
    change with everything the value depends on; writing it removes the files matching the glob
    ``replaces`` (the same cache under older keys). A cache that cannot be read is rebuilt, one
    that cannot be written is skipped: it only saves time."""
    path = Path(platformdirs.user_cache_dir("textsvc")) / name
    try:
        return msgspec.msgpack.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        pass
    value = build()
    _write_cache(path, msgspec.msgpack.encode(value), replaces)
    return value


def _write_cache(path: Path, data: bytes, replaces: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")  # workers may write at once
        partial.write_bytes(data)
        partial.replace(path)
        for old in path.parent.glob(replaces):
            if old != path and old.suffix == path.suffix:
                old.unlink(missing_ok=True)
    except OSError:
        pass


# What a word's lemma depends on besides this module's code: a compiled pattern cached under a
# key without these would survive an upgrade that changes lemmas.
LEMMATIZER_VERSION = ", ".join(f"{name} {metadata.version(name)}" for name in ("simplemma", "wordfreq", "spacy"))

_DICTIONARIES = _StreamDictionaries()
_LEMMATIZER = simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=_DICTIONARIES))
_LOOKUP = DictionaryLookupStrategy(_DICTIONARIES)


def _is_known(word: str, lang: str) -> bool:
    """``simplemma.is_known`` on textsvc's dictionaries."""
    return _LOOKUP.get_lemma(normalize_token(word), lang) is not None


# Separable-verb particles that end a German main clause ("schließe … nicht aus").
_PARTICLES = frozenset(
    "ab an auf aus bei dabei dazu durch ein fest fort her heraus herein hin hinaus hinzu kennen "
    "los mit nach teil vor vorbei voran weg weiter wieder zu zurück zusammen".split()
)
_PARTICLE_IDS = frozenset(get_string_id(p) for p in _PARTICLES)
# Words after which a particle still counts as clause-final ("… nicht aus und freue mich"); the
# conjunctions and subject pronouns open the next clause when the comma was left out ("… nicht
# aus wenn es passt", "ich schlage vor wir telefonieren"); not "sie", "es", "ihr": "vor sie hin".
_CLAUSE_BREAKS = frozenset(
    "und oder aber sondern denn , ; : . ! ? – — - ) \" » "
    "wenn dass weil ob obwohl falls sofern sodass damit bevor nachdem während ich du er wir".split()
)


# English clitics as spaCy splits them ("I'd" → "I" + "'d"): lemma = the full word, so that
# "I'd love" and "I would love" match the same pattern. ("'s" stays: is, has or us.)
_EN_CLITICS = {"'d": "would", "'m": "be", "'re": "be", "'ve": "have", "'ll": "will", "n't": "not"}


# "ae", "oe", "ue" typed for ä, ö, ü; not the "ue" of "Steuer", "neue", "Bauer", "Quelle", "Queue".
_UMLAUT_SPELLING = re.compile(r"[aA][eE]|[oO][eE]|(?<![aAeEqQ])[uU][eE]")
_UMLAUTS = {"ae": "ä", "oe": "ö", "ue": "ü", "Ae": "Ä", "Oe": "Ö", "Ue": "Ü", "AE": "Ä", "OE": "Ö", "UE": "Ü",
            "aE": "ä", "oE": "ö", "uE": "ü"}
UMLAUT_GAIN = 1.5  # "für" is 300 times as common as "fuer": a known spelling still gives way


@lru_cache(maxsize=50_000)
def restore_umlauts(word: str) -> str:
    """German typed without umlauts: "moechte" → "möchte", "Gruesse" → "Grüsse", "fuer" → "für",
    "Kennenlerngespraech" → "Kennenlerngespräch". The umlaut spelling wins when the word as typed
    is unknown and the umlaut spelling known, when wordfreq finds the umlaut spelling far more
    common ("fuer", "Muenchen"), or when a capitalised word is known in neither spelling nor
    language (a compound noun). "Steuer", "neue", "Bauer", "Quelle", "Michael" stay."""
    candidate = _UMLAUT_SPELLING.sub(lambda m: _UMLAUTS[m.group()], word)
    if candidate == word:
        return word
    own = _zipf(word.lower(), "de")
    if not _is_known(word, "de"):
        if _is_known(candidate, "de") and own < SLIP_MAX_ZIPF:  # not "guest"
            return candidate
        if word.istitle() and own == 0.0 and _zipf(word.lower(), "en") == 0.0 and not _is_known(word, "en"):
            return candidate
    if _zipf(candidate.lower(), "de") >= own + UMLAUT_GAIN:
        return candidate
    return word


def norm_of(word: str, lang: str) -> str:
    """The case-folded form rules match exact words on (German umlauts restored)."""
    return fold(restore_umlauts(word) if lang == "de" else word)


_ALPHABETS = {"de": "abcdefghijklmnopqrstuvwxyzäöü",  # wordfreq spells ß as ss
              "en": "abcdefghijklmnopqrstuvwxyz"}
SLIP_MIN_LENGTH = 5  # shorter words are too often another word one slip away ("Haus", "Maus")
SLIP_MAX_LENGTH = 30  # longer "words" are pasted junk: 60 candidates a letter is not worth it
SLIP_MAX_ZIPF = 2.5  # a word written once in three million words or more is a word ("gehts", "Michi")
SLIP_MIN_ZIPF = 3.0  # the word meant is common: once per million words or more
SLIP_MARGIN = 0.5  # … and clearly the likeliest: "freun" is "freuen" or "freund", so neither
_GERMAN_ENDINGS = ("en", "n", "et", "t", "e", "st", "s")  # "connecten", "gematcht": Denglisch verbs
# Words a lexicon spells out that are no slips though no dictionary knows them ("viber",
# "skillset"): ``[words] known`` in corpora/lexicon, registered by ``know_words``.
_KNOWN: dict[str, set[str]] = {lang: set() for lang in SUPPORTED_LANGUAGES}
_KNOWN_GENERATION = [0]  # bumped when a word is added: cached readings are stale


def know_words(lang: str, words: Iterable[str]) -> None:
    """Never take these words of ``lang`` for slips (a lexicon's ``[words] known``)."""
    added = {fold(w) for w in words} - _KNOWN[lang]
    if added:
        _KNOWN[lang].update(added)
        _KNOWN_GENERATION[0] += 1
        correct_slip.cache_clear()
        _is_rare.cache_clear()


# Short informal spellings of everyday words, read as the word meant ("würd mich freuen", "thx",
# "would love to connect with u"); too short for slips, too common to leave to chance.
_INFORMAL = {
    "de": {"würd": "würde", "wuerd": "würde", "hätt": "hätte", "könnt": "könnte", "möcht": "möchte",
           "wär": "wäre", "fänd": "fände", "nen": "einen", "nem": "einem", "ner": "einer", "nich": "nicht",
           "vllt": "vielleicht", "evtl": "eventuell", "bissl": "bisschen", "is": "ist", "nix": "nichts"},
    "en": {"u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks", "thnx": "thanks",
           "abt": "about", "tmrw": "tomorrow", "msg": "message", "bc": "because", "cuz": "because"},
}


def _one_slip_away(word: str, alphabet: str) -> set[str]:
    """Every string one slip from ``word`` after its first letter (a letter dropped, added,
    replaced, or two swapped): a changed first letter is more often another name than a slip
    ("Jonte"/"Monte", "Zolar"/"Solar")."""
    out: set[str] = set()
    for i in range(1, len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            out.add(head + tail[1:])
            if len(tail) > 1:
                out.add(head + tail[1] + tail[0] + tail[2:])
            out.update(head + ch + tail[1:] for ch in alphabet)
        out.update(head + ch + tail for ch in alphabet)
    out.discard(word)
    return out


def _known_spelling(word: str, lang: str) -> bool:
    """Does simplemma know ``word`` as typed, in lowercase or capitalised ("TOPPOSITION")?"""
    return any(_is_known(w, lang) for w in {word, word.lower(), word.capitalize()})


@lru_cache(maxsize=50_000)
def correct_slip(word: str, lang: str) -> str:
    """The common word a hurried writer meant ("Netzwek" → "Netzwerk", "conect" → "connect"), or
    ``word`` itself. Only a word no dictionary knows is corrected, to the one common word one slip
    away, so that rules and the classifier see what was meant. It stays as typed when:

    * it is short or very long, not all letters, or mixed case ("gGmbH");
    * it is a word: simplemma knows it, wordfreq has seen it often enough ("gehts"), or a lexicon
      lists it as known ("viber", ``know_words``);
    * it may belong to the other language: wordfreq has seen it there ("worksop"), or one slip
      from a different word there ("coffe"), or it is an English word with a German ending in
      German ("connecten");
    * it is capitalised and English, or German and attested at all: a name ("Brandl", "Minden");
      a capitalised German word becomes only a noun ("Profiel" → "Profil");
    * the slip would be in the first letter, no common word is one slip away, or two are about
      as likely (forms of one lemma count as one word: "vernezten" → "vernetzen").

    The case of the word as typed is kept: "NETZWEK" → "NETZWERK"; German takes ß where the
    dictionary knows no ss spelling ("Fussbalfan" → "Fußballfan", but "Prozes" → "Prozess")."""
    low = word.lower()
    if not SLIP_MIN_LENGTH <= len(low) <= SLIP_MAX_LENGTH or not low.isalpha():
        return word
    if not (word.islower() or word.istitle() or word.isupper()) or fold(word) in _KNOWN[lang]:
        return word
    if lang == "de":
        if restore_umlauts(word) != word:
            return word
        low = low.replace("ß", "ss")  # wordfreq's spelling
    own = _zipf(low, lang)
    capitalised = not word.islower()
    if own >= SLIP_MAX_ZIPF or (capitalised and (lang == "en" or own > 0.0)) or _known_spelling(word, lang):
        return word
    other = "en" if lang == "de" else "de"
    if _zipf(low, other) > 0.0 or _known_spelling(word, other):
        return word
    if lang == "de" and any(
        low.endswith(end) and _zipf(low.removeprefix("ge")[: -len(end)], "en") >= SLIP_MIN_ZIPF for end in _GERMAN_ENDINGS
    ):
        return word
    meant = _likeliest(low, lang, capitalised)
    if meant is None or _likeliest(low, other, capitalised) not in (None, meant):
        return word
    if lang == "de":  # "Fussballfan" is no spelling, "Prozess" is (not "Prozeß")
        meant = _sharp_s(meant.capitalize() if capitalised else meant)
    return meant.upper() if word.isupper() else meant.capitalize() if capitalised else meant


def informal_in_full(word: str, lang: str) -> str:
    """An informal short form in full ("würd" → "würde", "thx" → "thanks"), or ``word``."""
    full = _INFORMAL[lang].get(word.lower())
    if full is None or not (word.islower() or (word.istitle() and len(word) > 2)):  # not "U rock"
        return word
    return full.capitalize() if word.istitle() else full


def meant(word: str, lang: str) -> str:
    """The word a writer meant, to lemmatise: an informal form in full, else ``correct_slip``;
    then (German) ``restore_umlauts``. ``NORM`` keeps informal forms: an exact-word rule may be
    about "pls" and not "please"."""
    full = informal_in_full(word, lang)
    word = full if full != word else correct_slip(word, lang)
    return restore_umlauts(word) if lang == "de" else word


def norm_as_meant(word: str, lang: str) -> str:
    """``NORM``: the word as typed, folded, a slip corrected and umlauts restored ("Netzwek" →
    "netzwerk", "fuer" → "für"); informal forms stay ("pls")."""
    return norm_of(correct_slip(word, lang), lang)


@lru_cache(maxsize=50_000)
def _likeliest(low: str, lang: str, capitalised: bool) -> str | None:
    """The one common word of ``lang`` one slip from ``low``, if there is one (German and
    ``capitalised``: a noun)."""
    table = _frequencies(lang)
    by_lemma: dict[str, list[tuple[float, str]]] = {}  # "vernetzen", "vernetzten": one word meant
    for c in _one_slip_away(low, _ALPHABETS[lang]):
        if c in table:
            by_lemma.setdefault(lemma_of(c, lang), []).append((table[c], c))
    candidates = sorted(
        (math.log10(sum(f for f, _ in forms)) + 9, max(forms)[1]) for forms in by_lemma.values()
    )[::-1]
    if capitalised and lang == "de":  # a noun's lemma is capitalised
        candidates = [(z, c) for z, c in candidates if _LEMMATIZER.lemmatize(c.capitalize(), lang)[:1].isupper()]
    if not candidates or candidates[0][0] < SLIP_MIN_ZIPF:
        return None
    if len(candidates) > 1 and candidates[1][0] > candidates[0][0] - SLIP_MARGIN:
        return None
    return candidates[0][1]


@lru_cache(maxsize=200_000)
def lemma_of(word: str, lang: str) -> str:
    """Case-folded simplemma lemma of one word (cached: most words in requests repeat); German
    with its umlauts restored and "ss" read as "ß" where only that is a word (``_sharp_s``)."""
    if lang == "de":
        word = restore_umlauts(word)
        word = _sharp_s(word)
    folded = fold(word)
    if lang == "en" and folded in _EN_CLITICS:
        return _EN_CLITICS[folded]
    if not any(ch.isalpha() for ch in word):
        return folded
    lemma = fold(_LEMMATIZER.lemmatize(word, lang))
    if lang == "en" and folded.endswith("ing") and lemma == folded[:-3] + "e":
        # simplemma adds an "e" to some -ing stems: growing → "growe", thinking → "thinke".
        # Where that word is rare and the bare stem common, the stem is the lemma (make, hope,
        # create keep theirs).
        stem = folded[:-3]
        if _zipf(lemma, "en") < 3.0 <= _zipf(stem, "en") - 0.5:
            return stem
    return lemma


@lru_cache(maxsize=50_000)
def _sharp_s(word: str) -> str:
    """A German word typed with "ss" for "ß" (Swiss and hurried spelling), in the spelling the
    dictionary knows: "schliess" → "schließ"; known words stay ("Prozess", "muss")."""
    if "ss" in word and not _is_known(word, "de") and _is_known(sharp := word.replace("ss", "ß"), "de"):
        return sharp
    return word


@lru_cache(maxsize=50_000)
def _is_known_verb(particle: str, word: str, lang: str) -> bool:
    """Is particle + lemma(word) a verb the dictionary knows ("aus" + "schließe" → ausschließen)?"""
    lemma = _LEMMATIZER.lemmatize(_sharp_s(word) if lang == "de" else word, lang)
    return lemma.endswith("n") and _is_known(particle + lemma.lower(), lang)


class _WordColumn:
    """A component that sets one attribute (NORM or LEMMA) of every word from a per-word function.

    It works on whole columns (``to_array``/``from_array``): a Python ``Token`` per word costs
    more than the lookup itself. Its cache maps a word's ORTH hash to the hash of the result,
    whose string it has added to this pipeline's StringStore; cleared when full.
    """

    CACHE_SIZE = 200_000

    def __init__(self, attr: int, word_to: Any) -> None:
        self.attr = attr
        self.word_to = word_to
        self.cache: dict[int, int] = {}
        self.generation = _KNOWN_GENERATION[0]  # of the known words its cache was filled with

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        strings, lang, cache = doc.vocab.strings, doc.lang_, self.cache
        if len(cache) > self.CACHE_SIZE or self.generation != _KNOWN_GENERATION[0]:
            cache.clear()
            self.generation = _KNOWN_GENERATION[0]
        values = []
        for orth in doc.to_array(ORTH).tolist():
            value = cache.get(orth)
            if value is None or value not in strings:  # not in this StringStore (any more)
                value = cache[orth] = strings.add(self.word_to(strings[orth], lang))
            values.append(value)
        doc.from_array([self.attr], numpy.array(values, dtype="uint64"))
        return doc


@Language.factory("textsvc_norm")
def _norm_component(nlp: Language, name: str) -> _WordColumn:
    """Case-folded ``NORM`` (ß → ss, typographic apostrophes → ', "ueber" → "über") of the word
    as typed, a slip corrected (``norm_as_meant``)."""
    return _WordColumn(NORM, norm_as_meant)


@Language.factory("textsvc_lemmatizer")
def _lemmatizer_component(nlp: Language, name: str) -> _WordColumn:
    """simplemma's lemma, case-folded (``lemma_of``), of the word meant (``meant``: "Netzwek" →
    "netzwerk", "thx" → "thanks")."""
    return _WordColumn(LEMMA, lambda word, lang: lemma_of(meant(word, lang), lang))


@Language.component("textsvc_line_breaks")
def _line_breaks_component(doc: Doc) -> Doc:
    """A line break ends a sentence: requests typed on a phone put each thought on its own line,
    without a full stop ("Hallo Herr Meier\nbin auf Ihr Profil gestoßen\nLG Tom")."""
    if len(doc) < 2:
        return doc
    for i in numpy.flatnonzero(doc.to_array(IS_SPACE)[:-1]).tolist():  # whitespace tokens only
        token = doc[i]
        if "\n" in token.text and not token.is_sent_start:  # no blank "sentences"
            doc[i + 1].is_sent_start = True
    return doc


# English contractions typed without the apostrophe, which spaCy splits ("youre" → "you" "re",
# "Id" → "I" "d"): the clitic after a pronoun, glued to it, stands for the verb.
_APOSTROPHELESS = {get_string_id("re"): "be", get_string_id("d"): "would"}
_SUBJECTS = frozenset("i you we they he she it who that there".split())
# "d" is "would" only before the words that follow "I'd" in requests ("email id" is an id).
_AFTER_WOULD = frozenset(
    "love like be appreciate welcome enjoy want prefer suggest say think recommend rather also really "
    "definitely happily gladly just very so".split()
)


@Language.component("textsvc_en_clitics")
def _en_clitics_component(doc: Doc) -> Doc:
    """"youre", "Id love to", "wed like": ``re`` is "be" and ``d`` "would" after a pronoun."""
    if len(doc) < 2:
        return doc
    norms = doc.to_array(NORM)
    for i in numpy.flatnonzero(numpy.isin(norms[1:], list(_APOSTROPHELESS))).tolist():
        subject, clitic = doc[i], doc[i + 1]
        if subject.whitespace_ or subject.lower_ not in _SUBJECTS:
            continue
        if clitic.lower_ == "d" and (i + 2 >= len(doc) or doc[i + 2].lower_ not in _AFTER_WOULD):
            continue
        clitic.lemma_ = _APOSTROPHELESS[int(norms[i + 1])]
    return doc


@Language.component("textsvc_lemma_fold")
def _lemma_fold_component(doc: Doc) -> Doc:
    """Case-fold the lemmas of a trained pipeline so lexicon rules see one spelling."""
    for token in doc:
        token.lemma_ = fold(token.lemma_ or token.text)
    return doc


# German personal pronouns; after one of them a capitalised sentence opener is a verb.
_PRONOUN_IDS = frozenset(
    get_string_id(p) for p in "ich du er es wir ihr sie man mich mir dich dir uns euch ihnen".split()
)


@Language.component("textsvc_verb_first")
def _verb_first_component(doc: Doc) -> Doc:
    """German sentences that open with a verb before a pronoun ("Würde mich freuen", "Melde dich",
    "Testen Sie …", "Wünsche Ihnen …"): simplemma reads the capitalised word as a noun (Würde,
    Meldung, Test, Wunsch); the lowercase spelling gives the verb. (A trained pipeline's tagger
    decides this itself.)"""
    norms = doc.to_array(NORM).tolist() if len(doc) else []
    for sent in doc.sents:
        first = sent.start
        if first + 1 < sent.end and norms[first + 1] in _PRONOUN_IDS and doc[first].text[:1].isupper():
            verb = lemma_of(meant(doc[first].text.lower(), doc.lang_), doc.lang_)
            if verb != doc[first].lemma_:
                doc[first].lemma_ = verb
    return doc


@Language.component("textsvc_separable_verbs")
def _separable_verbs_component(doc: Doc) -> Doc:
    """Join a clause-final particle to the nearest preceding verb when the result is a known verb.

    "Ich schließe Synergien in der Zukunft nicht aus" → ``schließe.lemma_ == "ausschließen"``.
    With a trained pipeline only tokens tagged ``PTKVZ`` count as particles.
    """
    has_tags = doc.has_annotation("TAG")
    norms = doc.to_array(NORM).tolist() if len(doc) else []
    for i in [i for i, norm in enumerate(norms) if norm in _PARTICLE_IDS and i > 0]:
        token = doc[i]
        if has_tags and token.tag_ != "PTKVZ":
            continue
        following = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if not has_tags and following is not None and following.norm_ not in _CLAUSE_BREAKS:
            continue
        verb = _verb_for_particle(doc, token)
        if verb is not None:
            verb.lemma_ = token.norm_ + verb.lemma_
    return doc


def _verb_for_particle(doc: Doc, particle: Token) -> Token | None:
    sent_start = particle.sent.start if doc.has_annotation("SENT_START") else 0
    for i in range(particle.i - 1, sent_start - 1, -1):
        cand = doc[i]
        if cand.is_punct and cand.text in ".!?":
            return None
        if (
            cand.is_alpha
            and (cand.is_lower or i == sent_start)
            and not cand.lemma_.startswith(particle.norm_)
            and not _ends_subordinate_clause(doc, i, sent_start)
            and _is_known_verb(particle.norm_, cand.text, doc.lang_)
        ):
            return cand
    return None


# Words that open a German subordinate clause (relative pronouns, conjunctions).
_SUBORDINATORS = frozenset(
    "der die das dem den denen dessen deren wer was welche welcher welches welchem welchen "
    "weil dass daß wenn ob obwohl damit sodass bevor nachdem während falls sofern".split()
)


def _ends_subordinate_clause(doc: Doc, i: int, sent_start: int) -> bool:
    """Is ``doc[i]`` the verb at the end of a subordinate clause (", der keine hat, also los")?
    There the particle stays on the verb ("der keine loshat"), so a later one is not its own."""
    if i + 1 >= len(doc) or doc[i + 1].text != ",":
        return False
    j = i
    while j > sent_start and doc[j - 1].text not in (",", ";", ":", "–", "—"):
        j -= 1
    return j < i and doc[j].lower_ in _SUBORDINATORS


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A loaded pipeline and the name it is reported under (``/ready``, ``software.pipeline``)."""

    lang: str
    nlp: Language
    name: str

    def __call__(self, text: str) -> Doc:
        return self.nlp(text)


_UNITS = "ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun"
_TENS = "zwanzig|dreissig|vierzig|fünfzig|sechzig|siebzig|achtzig|neunzig"
_GERMAN_NUMBER = re.compile(  # number words, not "ein"/"eins" (an article, a mark)
    rf"(?:zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|(?:drei|vier|fünf|sech|sieb|acht|neun)zehn"
    rf"|(?:(?:{_UNITS})und)?(?:{_TENS})|(?:{_UNITS})?(?:hundert|tausend)\w*|dutzend\w*|milliarden?|millionen?)"
)


def build_pipeline(lang: str, model: str | None = None) -> Pipeline:
    """Build the pipeline for ``lang``; ``model`` names an installed trained pipeline to use instead.

    Nothing is ever downloaded: a ``model`` that is not installed raises ``OSError`` at start-up.
    """
    if lang not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    if model:
        nlp = spacy.load(model, exclude=["ner"])
        nlp.add_pipe("textsvc_norm")
        nlp.add_pipe("textsvc_lemma_fold")
        name = f"{nlp.meta.get('lang', lang)}_{nlp.meta.get('name', model)}-{nlp.meta.get('version', '?')}"
    else:
        nlp = spacy.blank(lang)
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("textsvc_line_breaks")
        nlp.add_pipe("textsvc_norm")
        nlp.add_pipe("textsvc_lemmatizer")
        name = f"spacy.blank:{lang}+simplemma"
    if lang == "en" and not model:
        nlp.add_pipe("textsvc_en_clitics")
    if lang == "de":
        # spaCy's German knows digits only as numbers; "fünf Jahre", "zwanzig Leute" are too.
        getters = nlp.vocab.lex_attr_getters
        digits = getters.get(LIKE_NUM, lambda text: False)
        getters[LIKE_NUM] = lambda text: digits(text) or _GERMAN_NUMBER.fullmatch(fold(text)) is not None
        if not model:
            nlp.add_pipe("textsvc_verb_first")
        nlp.add_pipe("textsvc_separable_verbs")
    return Pipeline(lang=lang, nlp=nlp, name=name)


def split_words(pipeline: Pipeline, text: str) -> list[str]:
    """Tokenise a pattern literal with the pipeline's tokenizer ("I'd" → ["I", "'d"])."""
    return [t.text for t in pipeline.nlp.tokenizer(text)]


class RuleMatcher:
    """spaCy matchers keyed by rule id; returns character spans of the longest matches.

    Each pattern gets its own ``Matcher`` and runs only on a sentence that holds all of its
    obligatory words: most messages contain the words of only a few families, and of those
    families only a pattern or two, so a few small matchers run instead of every family's
    patterns. Per rule, overlapping matches are then resolved as spaCy's ``greedy="LONGEST"``
    does (longest first, then earliest). The test is set arithmetic on spaCy's string
    hashes of the doc's lemmas and norms (one ``to_array``): every distinct word set of the
    lexicon has an id, each word maps to the ids of the sets it belongs to, and a pattern is a
    candidate when its rarest set (by wordfreq) is satisfied and then checked with one
    ``issuperset``. A prefix expression is tried once per doc against all its words.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._strings = pipeline.nlp.vocab.strings
        self._lang = pipeline.lang
        self._vocab = pipeline.nlp.vocab
        self._rules: list[str] = []  # rule index → key
        self._set_ids: dict[tuple[int, frozenset[int]], int] = {}
        self._words_of: list[frozenset[int]] = []  # set id → its word hashes
        self._commonness_of: dict[int, float] = {}
        # per attribute (LEMMA, NORM): word hash → ids of the word sets it belongs to
        self._sets_of: dict[int, dict[int, list[int]]] = {LEMMA: {}, NORM: {}}
        # per pattern: (rule, ids of its obligatory word sets, its obligatory expressions, its
        # matcher, the matcher the token after a match must not satisfy, whether that holds for
        # every token up to the sentence end ("$") rather than the next one (">!x"))
        self._patterns: list[tuple[int, frozenset[int], list[tuple[int, re.Pattern[str]]], Matcher, Matcher | None, bool]] = []
        self._by_anchor: dict[int, list[int]] = {}  # set id → patterns whose rarest set it is
        self._always: list[int] = []  # patterns that need no particular word

    def add(self, key: str, patterns: Sequence[list[dict[str, Any]]]) -> None:
        rule = len(self._rules)
        self._rules.append(key)
        for pattern in patterns:
            next_not, to_end = None, False
            if pattern and NEXT_NOT in pattern[-1]:  # a condition on the token(s) after a match
                next_not = Matcher(self._vocab, validate=True)
                next_not.add(key, [[pattern[-1][NEXT_NOT]]])
                to_end = pattern[-1][TO_SENTENCE_END]
                pattern = pattern[:-1]
            matcher = Matcher(self._vocab, validate=True)
            matcher.add(key, [pattern])  # every match: overlaps are resolved per rule in __call__
            sets, regexes = _obligatory(pattern, self._strings.add)
            ids = [self._set_id(attr, values) for attr, values in sets]
            index = len(self._patterns)
            self._patterns.append((rule, frozenset(ids), regexes, matcher, next_not, to_end))
            if not sets:
                self._always.append(index)
                continue
            # The anchor is the rarest word set ("Vortrag|Talk" rather than "Sie|du"), so the
            # pattern is looked at only where it can plausibly match.
            anchor = min(ids, key=self._commonness)
            self._by_anchor.setdefault(anchor, []).append(index)

    def _set_id(self, attr: int, values: frozenset[int]) -> int:
        if (attr, values) not in self._set_ids:
            set_id = self._set_ids[(attr, values)] = len(self._set_ids)
            self._words_of.append(values)
            for word in values:
                self._sets_of[attr].setdefault(word, []).append(set_id)
        return self._set_ids[(attr, values)]

    def _commonness(self, set_id: int) -> float:
        """How often one of the words of a set occurs in running text (sum of frequencies)."""
        if set_id not in self._commonness_of:
            words = self._words_of[set_id]
            self._commonness_of[set_id] = sum(10 ** _zipf(self._strings[h], self._lang) for h in words)
        return self._commonness_of[set_id]

    def _satisfied(self, lemmas: Iterable[int], norms: Iterable[int]) -> set[int]:
        """Ids of the word sets that one of these words belongs to."""
        out: set[int] = set()
        for attr, words in ((LEMMA, lemmas), (NORM, norms)):
            table = self._sets_of[attr]
            for word in set(words):
                out.update(table.get(word, ()))
        return out

    def __call__(self, doc: Doc) -> Iterable[tuple[str, int, int]]:
        """Yield ``(rule id, start char, end char)`` for each match, in text order."""
        if not len(doc):
            return
        lemmas, norms = doc.to_array([LEMMA, NORM]).T.tolist()
        satisfied = self._satisfied(lemmas, norms)
        joined: dict[int, str] = {}
        regex_seen: dict[tuple[int, str], bool] = {}

        def regex_ok(attr: int, rx: re.Pattern[str]) -> bool:
            key = (attr, rx.pattern)
            if key not in regex_seen:
                if attr not in joined:
                    joined[attr] = "\n".join(self._strings[h] for h in set(lemmas if attr == LEMMA else norms))
                regex_seen[key] = rx.search(joined[attr]) is not None
            return regex_seen[key]

        candidates = list(self._always)
        for set_id in satisfied:
            candidates.extend(self._by_anchor.get(set_id, ()))
        runnable = [
            index for index in sorted(candidates)
            if self._patterns[index][1] <= satisfied and all(regex_ok(a, rx) for a, rx in self._patterns[index][2])
        ]
        if not runnable:
            return
        # Patterns never cross a sentence start, so a pattern runs on each sentence that holds its
        # words: a spaCy Matcher call walks every token it is given.
        if doc.has_annotation("SENT_START"):
            sentences = [(s, self._satisfied(lemmas[s.start:s.end], norms[s.start:s.end])) for s in doc.sents]
        else:
            sentences = [(doc[:], satisfied)]
        by_rule: dict[int, set[tuple[int, int]]] = {}
        for index in runnable:
            rule, ids, _, matcher, next_not, to_end = self._patterns[index]
            for sent, s_satisfied in sentences:
                if ids <= s_satisfied:
                    matches = matcher(sent)
                    if matches and next_not is not None:
                        # the tokens the condition bars, found once per sentence: a match ending
                        # at b is kept unless token b (">!x") or any token from b on ("$") is one
                        barred = [a for _, a, _ in next_not(sent)]
                        last = max(barred, default=-1)
                        matches = [m for m in matches if (m[2] > last if to_end else m[2] not in barred)]
                    by_rule.setdefault(rule, set()).update((sent.start + a, sent.start + b) for _, a, b in matches)
        found = []
        for rule, pairs in by_rule.items():
            taken: set[int] = set()
            for start, end in sorted(pairs, key=lambda m: (m[1] - m[0], -m[0]), reverse=True):
                if taken.isdisjoint(range(start, end)):
                    found.append((self._rules[rule], start, end))
                    taken.update(range(start, end))
        for key, start, end in sorted(found, key=lambda m: (m[1], -m[2])):
            span = doc[start:end]
            yield key, span.start_char, span.end_char


# What one pattern needs in a doc: word-hash sets (one member must occur) and expressions that
# must match one of its words; attributes are spaCy's LEMMA and NORM ids.
_Needs = tuple[list[tuple[int, frozenset[int]]], list[tuple[int, re.Pattern[str]]]]


def _obligatory(pattern: list[dict[str, Any]], to_hash: Any) -> _Needs:
    """What a doc must contain for ``pattern`` to match: its tokens that are not optional."""
    sets: list[tuple[int, frozenset[int]]] = []
    regexes: list[tuple[int, re.Pattern[str]]] = []
    for spec in pattern:
        op = spec.get("OP", "")
        if op in ("?", "*") or op.startswith("{0"):
            continue
        for name, attr in (("LEMMA", LEMMA), ("NORM", NORM)):
            value = spec.get(name)
            if isinstance(value, str):
                sets.append((attr, frozenset([to_hash(value)])))
            elif isinstance(value, dict) and "IN" in value:
                sets.append((attr, frozenset(to_hash(v) for v in value["IN"])))
            elif isinstance(value, dict) and "REGEX" in value:
                # one search over the doc's words joined by newlines instead of one match per word
                regexes.append((attr, re.compile(value["REGEX"], re.MULTILINE)))
    return sets, regexes


def slips(doc: Doc) -> list[tuple[int, int, str]]:
    """Words typed with one slip, as ``(start, end, word meant)`` in code points ("Netzwek" →
    "Netzwerk"): the coach offers the correction. Informal forms and ae/oe/ue are no slips."""
    return [(t.idx, t.idx + len(t.text), word) for t in doc
            if (word := correct_slip(t.text, doc.lang_)) != t.text]


def rare_words(doc: Doc, max_zipf: float) -> list[tuple[int, int]]:
    """Character spans of words rarer than ``max_zipf`` (wordfreq's Zipf scale: 3 = once per
    million words): names, places, products, jargon. Boilerplate is written in common words, so
    rare words are what a text written for one person is made of."""
    if not len(doc):
        return []
    strings, lang = doc.vocab.strings, doc.lang_
    columns = doc.to_array([ORTH, IDX, LIKE_NUM]).tolist()
    return [(idx, idx + len(strings[orth])) for orth, idx, like_num in columns
            if not like_num and _is_rare(strings[orth], lang, max_zipf)]  # "21st", "sextillion": numbers


@lru_cache(maxsize=200_000)
def _is_rare(word: str, lang: str, max_zipf: float) -> bool:
    """A slip of a common word is no rare word: "netzwek" says nothing about the sender. A
    capitalised word counts as typed: a name the corrector misreads is still a name."""
    if len(word) <= 3 or not any(ch.isalpha() for ch in word):
        return False
    return _zipf(word if word[:1].isupper() else correct_slip(word, lang).lower(), lang) < max_zipf


# wordfreq's tables hold 950k German and English words (~100 MB per process); textsvc only asks
# whether a word is rarer than policy.rare_word_zipf and how common a lexicon word is, so it keeps
# the words at or above this Zipf value (270k) and drops wordfreq's own copy after reading it.
ZIPF_FLOOR = 2.0
_FREQUENCIES: dict[str, dict[str, float]] = {}


def _frequencies(lang: str) -> dict[str, float]:
    if lang not in _FREQUENCIES:
        # wordfreq's list is bucketed by centibel (bucket i: frequency 10^(-i/100)); reading only
        # the buckets down to the floor skips building its 950k-word dict (0.3 s per worker).
        last = round((9 - ZIPF_FLOOR) * 100)
        for code in SUPPORTED_LANGUAGES:  # all at once: cache_clear drops every language
            if code not in _FREQUENCIES:
                buckets = wordfreq.get_frequency_list(code)[: last + 1]
                _FREQUENCIES[code] = {w: wordfreq.cB_to_freq(-i) for i, bucket in enumerate(buckets) for w in bucket}
        wordfreq.get_frequency_list.cache_clear()
    return _FREQUENCIES[lang]


@lru_cache(maxsize=200_000)
def _zipf(word: str, lang: str) -> float:
    """wordfreq's ``zipf_frequency`` on the kept table: the same value at or above ``ZIPF_FLOOR``,
    0 below it. Several tokens ("Start-up") combine as in wordfreq: 1/f = 1/f1 + 1/f2 + …"""
    tokens = wordfreq.lossy_tokenize(word, lang)
    if not tokens:
        return 0.0
    table = _frequencies(lang)
    one_over = 0.0
    for token in tokens:
        smashed = wordfreq.smash_numbers(token)
        freq = table.get(smashed)
        if freq is None:
            return 0.0
        if smashed != token:
            freq *= wordfreq.digit_freq(token)
        one_over += 1.0 / freq
    return max(0.0, round(math.log10(1.0 / one_over) + 9, 2))  # digit runs can fall below 1e-9


_FUNCTION_WORDS: dict[str, frozenset[str]] = {}


def _function_words(lang: str) -> frozenset[str]:
    if lang not in _FUNCTION_WORDS:
        _FUNCTION_WORDS[lang] = frozenset(spacy.util.get_lang_class(lang).Defaults.stop_words)
    return _FUNCTION_WORDS[lang]


class _CachedLookup(LemmatizationStrategy):
    """simplemma's dictionary lookup with a cache: language detection looks up every word in
    both languages, and most words recur from one request to the next."""

    def __init__(self) -> None:
        self._get_lemma = lru_cache(maxsize=200_000)(DefaultStrategy(dictionary_factory=_DICTIONARIES).get_lemma)

    def get_lemma(self, token: str, lang: str) -> str | None:
        return self._get_lemma(token, lang)


_DETECTORS = [
    simplemma.LanguageDetector(SUPPORTED_LANGUAGES, sampler, _CachedLookup())
    for sampler in (MostCommonTokenSampler(), RelaxedMostCommonTokenSampler())
]


def _dictionary_coverage(text: str) -> list[tuple[str, float]]:
    """``simplemma.langdetect(text, SUPPORTED_LANGUAGES)``, with cached lookups: the share of the
    text's most common words that each language's dictionary knows; the second sampler (which
    keeps capitalised words) breaks ties."""
    results: list[tuple[str, float]] = []
    for detector in _DETECTORS:
        proportions = detector.proportion_in_each_language(text)
        results = sorted(proportions.items(), key=lambda item: (item[0] == "unk", -item[1]))
        if len(results) == 1 or results[0][1] != results[1][1]:
            break
    return results


def detect_language(text: str, default: str = "de") -> tuple[str, float]:
    """Guess de or en for short texts: simplemma's dictionary coverage, ties broken by function words.

    Returns ``(code, confidence)``; empty or undecidable texts give ``(default, 0.0)``.
    """
    scores = dict(_dictionary_coverage(text))
    words = [w.strip(".,!?;:'\"()") for w in fold(text).split()]
    for lang in SUPPORTED_LANGUAGES:
        stop = _function_words(lang)
        hits = sum(1 for w in words if w in stop)
        scores[lang] = scores.get(lang, 0.0) + 0.5 * hits / max(len(words), 1)
    ranked = sorted(SUPPORTED_LANGUAGES, key=lambda lang: scores.get(lang, 0.0), reverse=True)
    best, second = ranked[0], ranked[1]
    margin = scores[best] - scores[second]
    if scores[best] <= 0.0 or margin <= 0.0:
        return default, 0.0
    return best, round(min(1.0, margin), 2)
