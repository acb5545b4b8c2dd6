"""The spaCy pipelines: folding, lemmas, separable verbs, sentences, language detection."""

from __future__ import annotations

import pytest

from textsvc.nlp import build_pipeline, detect_language, meant, norm_as_meant


def lemmas(pipeline, text):
    return {t.text: t.lemma_ for t in pipeline(text)}


def test_norm_folds_sharp_s_and_case(pipelines):
    doc = pipelines["de"]("GESTOSSEN gestoßen Straße")
    assert [t.norm_ for t in doc] == ["gestossen", "gestossen", "strasse"]


def test_lemmas_are_case_folded_and_pronouns_keep_their_person(pipelines):
    got = lemmas(pipelines["de"], "Ich bin auf Ihr Profil gestoßen und habe Synergien gesehen.")
    assert got["Ihr"] == "ihr"  # spaCy's lookup tables would say "mein"
    assert got["Profil"] == "profil"
    assert got["gestoßen"] == "stossen"
    assert got["Synergien"] == "synergie"


@pytest.mark.parametrize(
    ("text", "verb", "lemma"),
    [
        ("Ich schließe Synergien in der Zukunft nicht aus.", "schließe", "ausschliessen"),
        ("Wir schließen Synergien nicht aus und freuen uns.", "schließen", "ausschliessen"),  # "aus und"
        ("Ich lerne Sie gern persönlich kennen!", "lerne", "kennenlernen"),
        ("Ich lade dich mal ein.", "lade", "einladen"),  # "mal" + "ein" is no verb
        # a relative clause between: its verb ("könnten,") keeps no particle
        ("Ich schließe Synergien, die sich ergeben könnten, nicht aus.", "schließe", "ausschliessen"),
        # the comma left out before the next clause
        ("Synergien schließe ich nicht aus wenn es passt.", "schließe", "ausschliessen"),
        ("synergien schliess ich nicht aus", "schliess", "ausschliessen"),  # Swiss and hurried "ss" for "ß"
        ("Ich schlage vor wir telefonieren.", "schlage", "vorschlagen"),
    ],
)
def test_separable_particle_joins_the_verb(pipelines, text, verb, lemma):
    assert lemmas(pipelines["de"], text)[verb] == lemma


@pytest.mark.parametrize(
    "text",
    [
        "Ich komme aus Berlin.",  # "aus" is a preposition here: not clause-final
        "Das habe ich nicht aus Angst getan.",
        "Wir kommen aus Berlin und wir bleiben.",
        "Kontakte schaden nur dem, der keine hat, also los!",  # "hat," ends a relative clause
    ],
)
def test_prepositions_are_not_particles(pipelines, text):
    doc = pipelines["de"](text)
    assert all(not t.lemma_.startswith("aus") or t.text.lower() == "aus" for t in doc)


def test_compounds_keep_their_own_lemma(pipelines):
    assert lemmas(pipelines["de"], "Der Netzwerkadministrator kommt.")["Netzwerkadministrator"] == "netzwerkadministrator"


def test_sentences_and_offsets_are_those_of_the_original_text(pipelines):
    text = "Hallo Anna 👋!\r\nIch war beim Meetup. Und du?"
    doc = pipelines["de"](text)
    assert doc.text == text
    assert [s.text.strip() for s in doc.sents] == ["Hallo Anna 👋!", "Ich war beim Meetup.", "Und du?"]


def test_english_contractions_split_and_lemmatise(pipelines):
    doc = pipelines["en"]("I’d love to, I'm sure we're fine, don't worry.")
    assert [t.lemma_ for t in doc] == [
        "i", "would", "love", "to", ",", "i", "be", "sure", "we", "be", "fine", ",", "do", "not", "worry", "."
    ]
    typed = pipelines["en"]("Id love to, im sure were fine, youre right, dont worry. Re: the email id")
    assert [t.lemma_ for t in typed] == [
        "i", "would", "love", "to", ",", "i", "be", "sure", "be", "fine", ",", "you", "be", "right", ",",
        "do", "not", "worry", ".", "re", ":", "the", "email", "i", "d",
    ]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hallo Tom, kurze Frage zu deinem Talk", "de"),
        ("Danke für die Einführung gestern!", "de"),
        ("I came across your profile", "en"),
        ("Hi Anna, let's connect!", "en"),
        ("Let's connect, Herr Müller!", "en"),
    ],
)
def test_detects_german_and_english_on_short_texts(text, lang):
    assert detect_language(text)[0] == lang


def test_undecidable_text_falls_back_to_german():
    assert detect_language("") == ("de", 0.0)
    assert detect_language("👍")[0] == "de"


def test_pipeline_names_the_components():
    assert build_pipeline("en").name == "spacy.blank:en+simplemma"
    with pytest.raises(ValueError):
        build_pipeline("fr")


def test_an_uninstalled_trained_model_fails_loudly_instead_of_downloading():
    with pytest.raises(OSError):
        build_pipeline("de", "de_core_news_sm")


@pytest.mark.parametrize("model", ["de_core_news_lg", "de_core_news_md", "de_core_news_sm"])
def test_an_installed_trained_pipeline_runs_the_lexicon(model, lexicons):
    """Only where a user installed a trained German pipeline; it is never downloaded."""
    import spacy

    from textsvc.phrases import PhraseChecker, example_problems

    if not spacy.util.is_package(model):
        pytest.skip(f"{model} is not installed")
    pipeline = build_pipeline("de", model)
    assert pipeline.name.startswith("de_core_news")
    problems = example_problems(pipeline, PhraseChecker(pipeline, lexicons["de"]))
    assert len(problems) <= 0.05 * sum(len(p.hits) + len(p.misses) for p in lexicons["de"].phrases), problems


@pytest.mark.parametrize("lang", ["de", "en"])
def test_kept_word_frequencies_agree_with_wordfreq_at_and_above_the_floor(lang):
    """The pruned table (textsvc.nlp._frequencies) gives wordfreq's own Zipf values for every word
    it keeps, 0 below the floor, and combines multi-token words the same way."""
    from wordfreq import iter_wordlist, zipf_frequency

    from textsvc.nlp import ZIPF_FLOOR, _zipf

    words = list(iter_wordlist(lang))
    sample = words[:: max(1, len(words) // 1500)] + ["Start-up", "E-Mail-Adresse", "2026", "Q3-Zahlen", "x", ""]
    for word in sample:
        expected = zipf_frequency(word, lang)
        got = _zipf(word, lang)
        if expected >= ZIPF_FLOOR + 0.01:
            assert abs(got - expected) <= 0.01, word
        else:
            assert got < ZIPF_FLOOR + 0.01, word


@pytest.mark.parametrize(
    ("lang", "text", "rare"),
    [
        ("de", "Ihr Vortrag zur Schichtplanung in Kassel am 3. Mai mit 20 Teilnehmern", ["Schichtplanung"]),
        ("en", "We met on the 21st at my 100th meetup, a sextillion thanks, Kubernetes talk", ["Kubernetes"]),
        ("en", "", []),
    ],
)
def test_rare_words_are_names_and_jargon_not_numbers(pipelines, lang, text, rare):
    from textsvc.nlp import rare_words

    assert [text[s:e] for s, e in rare_words(pipelines[lang](text), 2.8)] == rare


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_matcher_prefilter_finds_what_every_rule_on_every_sentence_finds(checkers, pipelines, lang):
    """RuleMatcher runs each pattern only on sentences that hold its words and resolves overlaps
    per rule itself; one spaCy Matcher per family with greedy="LONGEST", run on every sentence,
    must find exactly the same matches. (A family with a condition on the next word, ">!x" or
    "$" (no word up to the sentence end), is checked the slow way: every match of its patterns,
    filtered, then longest first.)"""
    import random

    from spacy.matcher import Matcher

    from textsvc.lexicon import NEXT_NOT, TO_SENTENCE_END, compile_pattern, expand_groups
    from textsvc.nlp import lemma_of, split_words

    checker, pipeline = checkers[lang], pipelines[lang]

    def longest(pairs):  # spaCy's greedy="LONGEST": longest first, then earliest
        taken, out = set(), []
        for a, b in sorted(pairs, key=lambda m: (m[0] - m[1], m[0])):
            if taken.isdisjoint(range(a, b)):
                out.append((a, b))
                taken.update(range(a, b))
        return out

    reference = []  # (rule id, find(sentence span) -> [(start, end)] relative to it)
    slow = set()  # families with a condition on the next word
    for phrase in checker.lexicon.phrases:
        compiled = [compile_pattern(w, checker.lexicon.sets, lambda x: lemma_of(x, lang),
                                    lambda x: split_words(pipeline, x), lambda x: meant(x, lang), lambda x: norm_as_meant(x, lang))
                    for p in phrase.patterns for w in expand_groups(p)]
        if not any(NEXT_NOT in c[-1] for c in compiled):
            m = Matcher(pipeline.nlp.vocab)
            m.add(phrase.id, compiled, greedy="LONGEST")
            reference.append((phrase.id, lambda sent, m=m: [(a, b) for _, a, b in m(sent)]))
            continue
        slow.add(phrase.id)
        parts = []
        for c in compiled:
            m, nxt, to_end = Matcher(pipeline.nlp.vocab), None, False
            if NEXT_NOT in c[-1]:
                nxt = Matcher(pipeline.nlp.vocab)
                nxt.add("next", [[c[-1][NEXT_NOT]]])
                to_end = c[-1][TO_SENTENCE_END]
                c = c[:-1]
            m.add(phrase.id, [c])
            parts.append((m, nxt, to_end))
        reference.append((phrase.id, lambda sent, parts=parts: longest(
            {(a, b) for m, nxt, to_end in parts for _, a, b in m(sent)
             if nxt is None or not any(nxt(sent[k:k + 1]) for k in range(b, len(sent) if to_end else min(b + 1, len(sent))))})))
    texts = [e.text for p in checker.lexicon.phrases for e in p.hits + p.misses]
    rng = random.Random(7)
    texts = rng.sample(texts, 250)
    texts += [a.rstrip(".!?") + " " + b.lower() for a, b in zip(texts[:100], texts[100:200])] + ["", "."]
    texts += [e.text for p in checker.lexicon.phrases if p.id in slow for e in p.hits + p.misses]
    for text in texts:
        doc = pipeline(text)
        sentences = [(s.start, s.end) for s in doc.sents] if len(doc) else []
        everything = sorted(
            (key, doc[s + a:s + b].start_char, doc[s + a:s + b].end_char)
            for key, find in reference for s, e in sentences for a, b in find(doc[s:e])
        )
        assert sorted(checker._matcher(doc)) == everything, text


@pytest.mark.parametrize(
    ("typed", "norm", "lemma"),
    [("wuerde", "würde", "werden"), ("moechte", "möchte", "mögen"), ("Gruesse", "grüsse", "gruss"),
     ("Steuer", "steuer", "steuer"), ("neue", "neue", "neu"), ("Queue", "queue", "queue"),
     ("fuer", "für", "für"), ("Muenchen", "münchen", "münchen"), ("Kennenlerngespraech", "kennenlerngespräch", "kennenlerngespräch"),
     ("Steuerbuero", "steuerbüro", "steuerbüro"), ("Bauer", "bauer", "bauer"), ("Quelle", "quelle", "quell"),
     ("Michael", "michael", "michael"), ("wiederzuentdecken", "wiederzuentdecken", "wiederzuentdecken")],
)
def test_german_typed_without_umlauts_reads_as_with_them(pipelines, typed, norm, lemma):
    token = pipelines["de"](typed)[0]
    assert (token.norm_, token.lemma_) == (norm, lemma)


def test_a_family_matches_german_typed_without_umlauts(checkers, pipelines):
    text = "Ich wuerde mich ueber eine Vernetzung freuen."
    found = [(h.phrase.id, text[h.start:h.end]) for h in checkers["de"].find(pipelines["de"](text))]
    assert ("DE_NETZWERK_VERNETZEN", "ueber eine Vernetzung") in found


@pytest.mark.parametrize(
    ("typed", "meant_word", "lang"),
    [("Netzwek", "Netzwerk", "de"), ("erweitren", "erweitern", "de"), ("Werdegnag", "Werdegang", "de"),
     ("NETZWEK", "NETZWERK", "de"), ("vernezten", "vernetzen", "de"), ("conect", "connect", "en"),
     ("netwrok", "network", "en"), ("oppurtunities", "opportunities", "en"), ("intrested", "interested", "en"),
     ("würd", "würde", "de"), ("Würd", "Würde", "de"), ("vllt", "vielleicht", "de"), ("is", "ist", "de"), ("nix", "nichts", "de"),
     ("u", "you", "en"), ("thx", "thanks", "en"), ("is", "is", "en"),
     ("Prozes", "Prozess", "de"), ("Fussbalfan", "Fußballfan", "de")],
)
def test_a_word_typed_with_one_slip_or_informally_reads_as_the_word_meant(typed, meant_word, lang):
    assert meant(typed, lang) == meant_word


@pytest.mark.parametrize(
    ("word", "lang", "why"),
    [("Netz", "de", "short"), ("gGmbH", "de", "mixed case"), ("gehts", "de", "attested colloquial form"),
     ("Brandl", "de", "a name wordfreq has seen"), ("Minden", "de", "a town, not 'finden'"),
     ("Herne", "de", "a town, and 'gerne' is no noun"), ("connecten", "de", "Denglisch: English stem, German ending"),
     ("doing", "de", "English inside German"), ("freun", "de", "'freuen' or 'Freund'"),
     ("Joost", "en", "capitalised English is a name"), ("Netzwerk", "de", "spelt right"), ("network", "en", "spelt right"),
     ("Tessler", "de", "a slip in the first letter is more often another name: not 'Kessler'"),
     ("Jonte", "de", "not 'Monte'"), ("worksop", "de", "wordfreq knows it in English"),
     ("TOPPOSITION", "de", "all caps of a known word, not 'OPPOSITION'"), ("U", "en", "'U rock' is no 'you'"),
     ("netzwerk" * 40, "de", "too long to be a word: no 10,000 candidates"), ("viber", "de", "a messenger, not 'vier'")],
)
def test_words_that_are_no_slips_stay_as_typed(word, lang, why):
    assert meant(word, lang) == word, why


def test_a_slip_keeps_its_offsets_and_still_matches_its_family(checkers, pipelines):
    text = "Hallo Tom, ich würde gern mein Netzwek erweitren und wir könnten uns vernezten."
    doc = pipelines["de"](text)
    assert [t.text for t in doc][7] == "Netzwek" and doc[7].lemma_ == "netzwerk"
    found = {(h.phrase.id, text[h.start:h.end]) for h in checkers["de"].find(doc)}
    assert ("DE_NETZWERK_ERWEITERN", "mein Netzwek erweitren") in found
    assert ("DE_NETZWERK_VERNETZEN", "uns vernezten") in found


def test_a_pattern_reads_its_words_as_the_text_is_read(pipelines):
    """Writers spell out typos and short forms a family should catch ("erweiteern", "skillset",
    "pls"); the pipeline reads the text's words as the words meant, and a pattern its own words
    the same way, so each still matches what it was written for. An exact word stays as typed
    where it is informal: a rule about "pls" is not about "please"."""
    from tests.test_lexicon import _checker

    for lang, pattern, text in [("en", 'my "skillset"', "my skillset"), ("en", "pls accept", "pls accept"),
                                ("en", "pls accept", "please accept"), ("de", '"erweiteern"', "erweiteern"),
                                ("de", "netzwerk erweitern", "Netzwek erweitren"), ("de", '"fuer" sie', "für Sie")]:
        doc = pipelines[lang](text)
        assert [(h.start, h.end) for h in _checker(pipelines, lang, pattern).find(doc)] == [(0, len(text))], (pattern, text)
    assert not _checker(pipelines, "en", '"pls" accept').find(pipelines["en"]("please accept"))


@pytest.mark.parametrize(
    ("text", "lemma"),
    [("Würde mich freuen.", "werden"), ("Würd mich freuen.", "werden"), ("Melde dich gern.", "melden"), ("Testen Sie es.", "testen"),
     ("Wünsche Ihnen alles Gute.", "wünschen"), ("Suche nach Partnern.", "suche"), ("Liebe Frau Roth", "liebe")],
)
def test_a_german_sentence_opener_before_a_pronoun_is_a_verb(pipelines, text, lemma):
    assert pipelines["de"](text)[0].lemma_ == lemma


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("Massnahmen", "massnahme"), ("Füsse", "fuss"), ("schliess", "schliessen"),  # "ss" typed for "ß"
     ("Prozess", "prozess"), ("muss", "müssen"), ("Masse", "masse"), ("Busse", "bus")],  # known words stay
)
def test_german_ss_typed_for_sharp_s_reads_as_the_word_meant(word, lemma):
    from textsvc.nlp import lemma_of

    assert lemma_of(word, "de") == lemma


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("growing", "grow"), ("Thinking", "think"), ("playing", "play"), ("thanking", "thank"),
     ("making", "make"), ("hoping", "hope"), ("creating", "create"), ("staring", "stare")],
)
def test_english_ing_forms_get_their_stem(word, lemma):
    from textsvc.nlp import lemma_of

    assert lemma_of(word, "en") == lemma


def test_dictionaries_read_from_the_cache_give_simplemmas_lemmas(tmp_path, monkeypatch):
    """The block index of simplemma's low-memory dictionaries is cached on disk; a fresh build,
    a build read back from the cache and a corrupt cache (rebuilt) all give simplemma's lemmas."""
    import simplemma
    from simplemma.strategies import DefaultStrategy
    from wordfreq import iter_wordlist

    from textsvc import nlp

    monkeypatch.setattr(nlp.platformdirs, "user_cache_dir", lambda name: str(tmp_path / name))
    words = [w for w in iter_wordlist("de")][:: 200] + ["Synergien", "schließe", "Gruesse"]
    expected = [simplemma.lemmatize(w, lang="de", low_memory=True) for w in words]

    def lemmas() -> list[str]:
        lemmatizer = simplemma.Lemmatizer(
            lemmatization_strategy=DefaultStrategy(dictionary_factory=nlp._StreamDictionaries()))
        return [lemmatizer.lemmatize(w, "de") for w in words]

    assert lemmas() == expected  # built, cache written
    (cache,) = (tmp_path / "textsvc").glob("simplemma-*-de-*.msgpack")
    with monkeypatch.context() as m:
        m.setattr(nlp.StreamMap, "__init__", lambda self, lang: pytest.fail("rebuilt despite the cache"))
        assert lemmas() == expected  # read from the cache
    cache.write_bytes(b"\x93 not what was written")
    assert lemmas() == expected  # unreadable: rebuilt
    assert cache.stat().st_size > 1_000_000


def test_german_number_words_are_numbers(pipelines):
    """spaCy's German knows only digits as numbers; `#num` and the classifier's figure check need
    the words too ("acht Mitarbeiter" is as concrete as "8 Mitarbeiter")."""
    doc = pipelines["de"]("Seit fünf Jahren, mit zwanzig Leuten und einundzwanzig Filialen, dreißig oder 30 Stück, "
                          "Hunderte Kunden, ein Haus, eins vorweg, der Elfmeter.")
    assert [t.text for t in doc if t.like_num] == ["fünf", "zwanzig", "einundzwanzig", "dreißig", "30", "Hunderte"]


def test_a_line_break_ends_a_sentence_without_blank_sentences(pipelines):
    doc = pipelines["de"]("Hallo Herr Meier\nbin auf Ihr Profil gestoßen\n\nLG Tom")
    assert [s.text.strip() for s in doc.sents] == ["Hallo Herr Meier", "bin auf Ihr Profil gestoßen", "LG Tom"]
    assert [s.text for s in pipelines["de"]("\n\nZwei Sätze. Hier.").sents] == ["\n\nZwei Sätze.", "Hier."]
