"""The candidate index (textsvc/candidates.py) against the brute-force reference, on generated corpora.

The fast path is ``CandidateIndex.candidates`` followed by the exact ``fuzz.ratio`` re-rank; the
reference is ``process.extractOne`` over every fingerprint, what ``TemplateIndex.search`` does today.
"""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz, process

from bench.templates import KINDS, generate, load_resources, make_queries
from textsvc.candidates import CandidateIndex, length_bounds
from textsvc.templates import fingerprint

THRESHOLD = 78.0
MIN_WORDS = 6


def fast(index: CandidateIndex, fp: str, k: int = 30) -> tuple[str, float] | None:
    if fp.count(" ") + 1 < MIN_WORDS:
        return None
    found = index.candidates(fp, k, THRESHOLD)
    best = process.extractOne(fp, dict(found), scorer=fuzz.ratio, processor=None, score_cutoff=THRESHOLD)
    return None if best is None else (best[2], best[1])


def brute(choices: dict[str, str], fp: str) -> tuple[str, float] | None:
    if fp.count(" ") + 1 < MIN_WORDS:
        return None
    best = process.extractOne(fp, choices, scorer=fuzz.ratio, processor=None, score_cutoff=THRESHOLD)
    return None if best is None else (best[2], best[1])


@pytest.fixture(scope="module")
def resources():
    return load_resources()


@pytest.fixture(scope="module")
def corpus(resources):
    """4,000 generated templates: (id, language, text)."""
    return list(generate(4000, seed=7, res=resources))


@pytest.fixture(scope="module")
def choices(corpus) -> dict[str, str]:
    return {tid: fingerprint(text) for tid, _, text in corpus}


@pytest.fixture(scope="module")
def index(choices) -> CandidateIndex:
    return CandidateIndex.build(choices.items())


def test_fast_path_finds_what_brute_force_finds(index, choices, corpus, resources):
    queries = make_queries(corpus, 80, seed=11, res=resources)
    variants = [q for q in queries if q["kind"] != "unrelated"]
    assert {q["kind"] for q in variants} == set(KINDS)
    same = 0
    for q in queries:
        f, b = fast(index, q["fp"]), brute(choices, q["fp"])
        if f is not None:
            # the similarity reported is the exact one, and brute force matches at least as well
            assert f[1] == fuzz.ratio(q["fp"], choices[f[0]])
            assert b is not None and f[1] <= b[1], q
        if q["kind"] == "unrelated":
            assert f is None or b is not None
            continue
        if (f is None and b is None) or (f is not None and b is not None and f[1] == b[1]):
            # same template, unless two templates tie for best
            assert f is None or f[0] == b[0] or fuzz.ratio(q["fp"], choices[f[0]]) == b[1]
            same += 1
    assert same / len(variants) >= 0.995, f"{same} of {len(variants)}"


def test_candidates_respect_the_length_filter(index, choices, corpus, resources):
    rng = random.Random(3)
    for tid, lang, text in rng.sample(corpus, 50):
        fp = fingerprint(text)
        lo, hi = length_bounds(len(fp), THRESHOLD)
        for cid, cfp in index.candidates(fp, 50, THRESHOLD):
            assert choices[cid] == cfp
            assert lo <= len(cfp) <= hi


def test_length_bounds_never_cut_a_match():
    rng = random.Random(5)
    alphabet = "abcde "
    for _ in range(3000):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        s = rng.choice((50.0, 70.0, 78.0, 92.0))
        if fuzz.ratio(a, b) >= s:
            lo, hi = length_bounds(len(a), s)
            assert lo <= len(b) <= hi, (a, b, s)


def test_exact_copies_come_first(index, choices):
    for tid, fp in list(choices.items())[:200]:
        assert fast(index, fp) == (tid, 100.0)


def test_add_and_remove_are_visible_immediately(choices, resources):
    items = list(choices.items())
    index = CandidateIndex.build(items[:3000])
    new_id, new_fp = items[3500]
    assert fast(index, new_fp) != (new_id, 100.0)
    index.add(new_id, new_fp)
    assert new_id in index and len(index) == 3001
    assert fast(index, new_fp) == (new_id, 100.0)

    # replacing a template's fingerprint: the old one is gone, the new one found
    old_id, old_fp = items[10]
    other_fp = items[3600][1]
    index.add(old_id, other_fp)
    assert index.get(old_id) == other_fp and len(index) == 3001
    assert (fast(index, old_fp) or ("", 0))[0] != old_id
    assert fast(index, other_fp) == (old_id, 100.0)

    # removing from the main segment and from the delta
    gone_id, gone_fp = items[20]
    assert index.remove(gone_id)
    assert gone_id not in index and len(index) == 3000
    assert (fast(index, gone_fp) or ("", 0))[0] != gone_id
    assert all(cid != gone_id for cid, _ in index.candidates(gone_fp, 1000))
    assert index.remove(new_id)
    assert (fast(index, new_fp) or ("", 0))[0] != new_id
    assert not index.remove(new_id) and not index.remove("tpl_unknown")
    assert len(index) == 2999


def test_save_load_round_trips(tmp_path, choices, corpus, resources):
    items = list(choices.items())
    index = CandidateIndex.build(items[:3000], compact_ratio=1.0)  # keep the delta through save
    for tid, fp in items[3000:3050]:
        index.add(tid, fp)
    for tid, _ in items[:30]:
        index.remove(tid)
    index.save(tmp_path / "idx", state={"seq": 42})
    loaded = CandidateIndex.load(tmp_path / "idx")
    assert loaded.state == {"seq": 42}
    assert len(loaded) == len(index) == 3020
    assert dict(loaded.items()) == dict(index.items())
    queries = make_queries(corpus[:3050], 10, seed=13, res=resources)
    for q in queries:
        assert loaded.candidates(q["fp"], 30, THRESHOLD) == index.candidates(q["fp"], 30, THRESHOLD)
    # writes after loading, saved again, then compacted into a new main segment
    loaded.add(*items[3100])
    loaded.remove(items[40][0])
    loaded.save(tmp_path / "idx")
    again = CandidateIndex.load(tmp_path / "idx")
    assert dict(again.items()) == dict(loaded.items())
    again.compact_ratio = 0.0
    again.save(tmp_path / "idx")
    compacted = CandidateIndex.load(tmp_path / "idx")
    assert dict(compacted.items()) == dict(loaded.items())
    assert compacted._gen.n == len(compacted) and not compacted._gen.delta  # all in the main segment
    for q in queries:
        assert fast(compacted, q["fp"]) == fast(loaded, q["fp"])
    assert sorted(p.name for p in (tmp_path / "idx").iterdir() if p.name.startswith("main-")).__len__() == 1


def test_duplicate_ids_in_build_keep_the_last():
    a = "alpha beta gamma delta epsilon zeta eta theta"
    b = "iota kappa lambda my ny xi omikron pi"
    index = CandidateIndex.build([("t1", a), ("t2", b), ("t1", b + " rho")])
    assert len(index) == 2
    assert index.get("t1") == b + " rho"
    assert [cid for cid, _ in index.candidates(a, 5)] == []


def test_empty_index(tmp_path):
    index = CandidateIndex.build([])
    assert len(index) == 0 and index.candidates("a b c d e f", 5) == []
    index.save(tmp_path / "e")
    loaded = CandidateIndex.load(tmp_path / "e")
    loaded.add("t", "a b c d e f")
    assert loaded.candidates("a b c d e f", 5) == [("t", "a b c d e f")]


def test_candidates_module_does_not_use_rapidfuzz():
    import re
    from pathlib import Path

    import textsvc.candidates as mod

    source = Path(mod.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+rapidfuzz", source, re.MULTILINE)


def test_writes_during_a_compaction_are_kept(monkeypatch, choices):
    import textsvc.candidates as mod

    items = list(choices.items())
    index = CandidateIndex.build(items[:500])
    index.add(*items[600])
    real = mod._build_main

    def build_while_writing(pairs, prefix):
        pairs = list(pairs)
        index.add(*items[700])  # lands on the old generation and in the journal
        index.remove(items[1][0])
        return real(pairs, prefix)

    monkeypatch.setattr(mod, "_build_main", build_while_writing)
    index.compact()
    assert index._gen.n == 501  # the snapshot: 500 built + 1 added before the compaction
    assert index.get(items[700][0]) == items[700][1] and items[1][0] not in index
    assert items[600][0] in index and len(index) == 501
    assert fast(index, items[700][1]) == (items[700][0], 100.0)


def test_two_workers_saving_into_one_directory(tmp_path, choices):
    items = list(choices.items())
    d = tmp_path / "idx"
    a = CandidateIndex.build(items[:1000])
    a.save(d)
    b = CandidateIndex.load(d)
    a.add(*items[1500])
    a.compact()
    a.save(d)  # a new main segment; the one b maps is deleted from the directory
    b.add(*items[1600])
    b.save(d)  # so b writes its own again instead of pairing its delta with a's segment
    c = CandidateIndex.load(d)
    assert dict(c.items()) == dict(b.items())
    assert fast(c, items[1600][1]) == (items[1600][0], 100.0)
