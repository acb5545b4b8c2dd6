"""The pattern language beyond single tokens: groups of whole wordings, the sentence-start anchor,
the number class and the conditions on what follows a match (corpora/README.md), compiled and run
on the real pipelines."""

from __future__ import annotations

import pytest

from textsvc.errors import LexiconError
from textsvc.lexicon import Example, Lexicon, Phrase, expand_groups
from textsvc.phrases import PhraseChecker


def _checker(pipelines, lang: str, *patterns: str) -> PhraseChecker:
    phrase = Phrase(id=f"{lang.upper()}_TEST", lang=lang, group="test", category="GENERIC_PHRASE", weight=10,
                    message="Test.", short_message="", replacements=("x",), hint="", patterns=patterns,
                    hits=(Example.parse("[x]"),), misses=(Example.parse("y"),))
    return PhraseChecker(pipelines[lang], Lexicon(lang=lang, phrases=(phrase,)))


def _found(pipelines, checker: PhraseChecker, lang: str, text: str) -> list[str]:
    return [text[h.start:h.end] for h in checker.find(pipelines[lang](text))]


def test_a_group_stands_for_each_of_its_wordings():
    assert expand_groups("(as per|according to) your request") == ["as per your request", "according to your request"]
    assert expand_groups("(gern)? vernetzen") == ["gern vernetzen", "vernetzen"]
    assert expand_groups("a (b c|d) (e|f)?") == ["a b c e", "a b c f", "a b c", "a d e", "a d f", "a d"]
    assert expand_groups("möglich .|,|)") == ["möglich .|,|)"]  # ")" without an open group is punctuation


@pytest.mark.parametrize("pattern", ["(a b", "(a (b) c)", "(a|) b", "someday|(one day) soon", "(" + "|".join("abcdefghi") + ") (" + "|".join("abcdefghi") + ")"])
def test_broken_groups_are_reported(pattern):
    with pytest.raises(LexiconError):
        expand_groups(pattern)


def test_multi_word_alternatives_match_as_wholes(pipelines):
    checker = _checker(pipelines, "en", "(as per|according to) your requirement")
    assert _found(pipelines, checker, "en", "As per your requirement, here it is.") == ["As per your requirement"]
    assert _found(pipelines, checker, "en", "According to your requirements we built it.") == ["According to your requirements"]
    assert _found(pipelines, checker, "en", "As to your requirement, no.") == []


def test_the_anchor_needs_the_start_of_a_sentence(pipelines):
    checker = _checker(pipelines, "de", "^ kurz zu ich")
    assert _found(pipelines, checker, "de", "Guten Tag. Kurz zu mir: ich berate Banken.") == ["Kurz zu mir"]
    assert _found(pipelines, checker, "de", "Ich sage es kurz zu mir selbst.") == []


def test_the_anchor_needs_a_word_that_is_always_there(pipelines):
    for pattern in ("^", "kurz ^", "^ ~ kurz", "^ kurz? zu"):
        with pytest.raises(LexiconError):
            _checker(pipelines, "de", pattern)


def test_the_number_class_matches_digits_and_number_words(pipelines):
    checker = _checker(pipelines, "en", "team of #num developer")
    assert _found(pipelines, checker, "en", "We have a team of 60 developers.") == ["team of 60 developers"]
    assert _found(pipelines, checker, "en", "We have a team of sixty developers.") == ["team of sixty developers"]
    assert _found(pipelines, checker, "en", "We have a team of great developers.") == []


def test_compiled_patterns_are_cached_and_a_broken_cache_is_rebuilt(pipelines, lexicons, tmp_path, monkeypatch):
    """Compiling the lexicon is kept in the user's cache directory under a key of the lexicon's
    files and the compiler's code; a cache read back, and a corrupt one (rebuilt), give the same
    findings as a fresh compile."""
    from textsvc import nlp, phrases

    monkeypatch.setattr(nlp.platformdirs, "user_cache_dir", lambda name: str(tmp_path / name))
    (tmp_path / "textsvc").mkdir()
    stale = tmp_path / "textsvc" / "patterns-de-0123456789abcdef0123.msgpack"  # an older lexicon's
    stale.write_bytes(b"old")
    text = "Ich würde mich freuen, mein Netzwerk zu erweitern, und wer weiß, was sich ergibt."

    def found() -> list[tuple[str, int, int]]:
        checker = PhraseChecker(pipelines["de"], lexicons["de"])
        return [(h.phrase.id, h.start, h.end) for h in checker.find(pipelines["de"](text))]

    fresh = found()
    assert len(fresh) >= 2
    (cache,) = (tmp_path / "textsvc").glob("patterns-de-*.msgpack")  # and the stale one is gone
    with monkeypatch.context() as m:
        m.setattr(phrases, "compile_pattern", lambda *a: pytest.fail("compiled despite the cache"))
        assert found() == fresh
    cache.write_bytes(b"\x93 not what was written")
    assert found() == fresh
    assert cache.stat().st_size > 100_000


def test_a_lexicon_built_in_code_is_never_read_from_the_cache(pipelines, tmp_path, monkeypatch):
    from textsvc import nlp

    monkeypatch.setattr(nlp.platformdirs, "user_cache_dir", lambda name: str(tmp_path / name))
    assert _found(pipelines, _checker(pipelines, "en", "team of #num developer"), "en", "a team of 6 developers")
    assert _found(pipelines, _checker(pipelines, "en", "team of great developer"), "en", "a team of great developers")
    assert not (tmp_path / "textsvc").exists()


def test_not_followed_by_checks_the_next_word_and_leaves_it_out_of_the_span(pipelines):
    checker = _checker(pipelines, "en", "love to connect >!you|u")
    assert _found(pipelines, checker, "en", "I would love to connect.") == ["love to connect"]
    assert _found(pipelines, checker, "en", "I would love to connect with you.") == ["love to connect"]
    assert _found(pipelines, checker, "en", "I'd love to connect you with my colleague Ana.") == []
    # the next word is the next token of the sentence, whatever the attribute of the spec
    prefix = _checker(pipelines, "de", "netzwerk >!von")
    assert _found(pipelines, prefix, "de", "Ich baue ein Netzwerk von Hebammen auf.") == []
    assert _found(pipelines, prefix, "de", "Ich baue mein Netzwerk aus.") == ["Netzwerk"]


def test_the_end_anchor_needs_the_end_of_the_sentence_and_keeps_punctuation_out(pipelines):
    checker = _checker(pipelines, "de", "kontakt schaden nicht $")
    assert _found(pipelines, checker, "de", "Kontakte schaden nicht!") == ["Kontakte schaden nicht"]
    assert _found(pipelines, checker, "de", "Na ja, Kontakte schaden nicht 😉") == ["Kontakte schaden nicht"]
    assert _found(pipelines, checker, "de", "Kontakte schaden nicht") == ["Kontakte schaden nicht"]
    assert _found(pipelines, checker, "de", "Kontakte schaden nicht immer, aber oft.") == []
    # punctuation after the match is not the end: no word may follow up to the sentence's end
    assert _found(pipelines, checker, "de", "Kontakte schaden nicht, sagt mein Chef.") == []
    assert _found(pipelines, checker, "de", "Kontakte schaden nicht. Bis bald, sagt mein Chef!") == ["Kontakte schaden nicht"]


def test_an_optional_wildcard_matches_one_word_or_none(pipelines):
    checker = _checker(pipelines, "en", "stay _? touch")
    assert _found(pipelines, checker, "en", "Let's stay in touch.") == ["stay in touch"]
    assert _found(pipelines, checker, "en", "Stay touch!") == ["Stay touch"]


@pytest.mark.parametrize("pattern", ["$", ">!you", "love $ connect", "love >!you connect", "love >!(a|b)", "love >!x?"])
def test_lookahead_misuse_is_reported(pipelines, pattern):
    with pytest.raises(LexiconError):
        _checker(pipelines, "en", pattern)


def test_no_pattern_word_reads_as_a_slip_of_another(lexicons):
    """A typo variant in a pattern is redundant (the corrector reads it as the word meant for
    every rule); a real word the corrector would misread must be listed as known."""
    from textsvc.phrases import slip_problems

    assert slip_problems(lexicons["de"]) == [] and slip_problems(lexicons["en"]) == []


def test_slip_problems_name_typo_variants_and_known_words_silence_them():
    from dataclasses import replace

    from textsvc.phrases import slip_problems

    phrase = Phrase(id="EN_TEST_SLIP", lang="en", group="test", category="GENERIC_PHRASE", weight=10,
                    message="Test.", short_message="", replacements=("x",), hint="", patterns=('grow my netwrok|"mlopz"',),
                    hits=(Example.parse("[grow my network]"),), misses=(Example.parse("y"),))
    lexicon = Lexicon(lang="en", phrases=(phrase,))
    problems = slip_problems(lexicon)
    assert len(problems) == 1 and "'netwrok' reads as a slip of 'network'" in problems[0]
    assert slip_problems(replace(lexicon, known=frozenset({"netwrok"}))) == []
