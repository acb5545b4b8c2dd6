"""Candidate retrieval over template fingerprints: which few templates are worth a ``fuzz.ratio``.

Brute force scores every template (~2 µs each, ~1 s per query at a million). This index returns a
short list of candidates that the caller re-ranks with the exact score (templates.py), so every
similarity it reports is the brute-force similarity; what can differ is only whether the best
template is among the candidates (measured by bench/templates.py and tests/test_candidates.py).

How the candidates are found, in two stages over compact numpy arrays:

1. **Rare words identify a template.** Each template is posted in an inverted index under its
   ``prefix`` rarest distinct words only (rarest by document frequency, the prefix-filtering idea of
   set-similarity joins). Words of boilerplate sentences shared by many templates are nearly never a
   template's rarest, so no posting list is a list of boilerplate: the whole index is ``prefix`` × N
   row numbers. A query probes its ``probe`` rarest known words (a variant keeps most of its
   template's rare words: typos touch one or two words, names become slots, greetings are stripped,
   order does not matter, an added clause only adds words) and scores every template hit by the
   IDF-weighted share of its prefix it covers; the ``shortlist`` best go on.
2. **Shared characters.** For the shortlist, the characters of the query's words present in the
   template (every token of every template is kept as a 16-bit word key) estimate
   ``fuzz.ratio`` = 2·LCS / (len a + len b) of the sorted-word fingerprints closely; the ``k`` best
   are returned with their fingerprints for the exact re-rank.

Before both, the **length filter**: a similarity ≥ s needs the shorter fingerprint to be at least
s / (2 − s) of the longer one. Rows are stored in order of fingerprint length, so the filter is one
row range and each posting list is cut to it by binary search.

Fingerprints and ids live in UTF-8 blobs with offsets, word keys are 64-bit hashes in a sorted
array, postings are int32 in CSR form: no per-template Python objects. ``save`` writes ``.npy``
files and ``load`` memory-maps them, so start-up costs milliseconds and worker processes share the
pages. Writes go to a small in-memory delta plus a tombstone array over the immutable main segment,
both visible to the next query; ``save`` persists them cheaply and ``compact`` rebuilds the main
segment (``save`` does it once the delta outgrows ``compact_ratio`` of the main segment).

Only numpy and the standard library: rapidfuzz stays in templates.py.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import shutil
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
_MAIN_FILES = ("fp_blob", "fp_off", "fp_len", "id_blob", "id_off", "id_hash", "id_row",
               "word_key", "word_df", "word_idf", "post_ptr", "post", "pref_inv", "bag_ptr", "bag")
_MAX_PROBE = 63  # probe numbers are packed into 6 bits


def word_key(word: str) -> int:
    """Stable 64-bit key of a word (the same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _id_key(template_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(template_id.encode(), digest_size=8, person=b"tplid").digest(), "little")


def length_bounds(n: int, min_similarity: float) -> tuple[int, int]:
    """Fingerprint lengths that can reach ``fuzz.ratio`` ≥ ``min_similarity`` against length ``n``."""
    r = min(max(min_similarity, 0.0), 100.0) / 100.0
    if r <= 0.0:
        return 0, 1 << 30
    return math.ceil(n * r / (2.0 - r) - 1e-9), math.floor(n * (2.0 - r) / r + 1e-9)


class _Generation:
    """One immutable main segment with its removals and the delta of writes since it was built."""

    def __init__(self, main: dict[str, np.ndarray]) -> None:
        self.m = main
        self.n = int(main["fp_len"].shape[0])
        self.dead = np.zeros(self.n, dtype=bool)
        self.n_dead = 0
        self.delta: dict[str, str] = {}  # id -> fingerprint
        self.delta_post: dict[int, set[str]] = {}  # word key -> delta ids having it in their prefix
        self.delta_pref: dict[str, list[int]] = {}  # delta id -> its prefix word keys
        self.saved_as: tuple[str, str] | None = None  # (directory, main-segment name) once written

    def __len__(self) -> int:
        return self.n - self.n_dead + len(self.delta)

    def fp(self, row: int) -> str:
        off = self.m["fp_off"]
        return self.m["fp_blob"][off[row]:off[row + 1]].tobytes().decode()

    def id(self, row: int) -> str:
        off = self.m["id_off"]
        return self.m["id_blob"][off[row]:off[row + 1]].tobytes().decode()

    def row_of(self, template_id: str) -> int | None:
        """The live main-segment row of a template, or None."""
        keys = self.m["id_hash"]
        if keys.shape[0] == 0:
            return None
        key = np.array([_id_key(template_id)], dtype=np.uint64)
        i = int(keys.searchsorted(key)[0])
        while i < keys.shape[0] and keys[i] == key[0]:
            row = int(self.m["id_row"][i])
            if not self.dead[row] and self.id(row) == template_id:
                return row
            i += 1
        return None

    def df(self, keys: list[int]) -> np.ndarray:
        """Document frequencies of word keys in the main segment (0 for unknown words)."""
        wk = self.m["word_key"]
        if wk.shape[0] == 0 or not keys:
            return np.zeros(len(keys), dtype=np.int64)
        q = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        i = np.minimum(wk.searchsorted(q), wk.shape[0] - 1)
        return np.where(wk[i] == q, self.m["word_df"][i], 0).astype(np.int64)

    def add(self, template_id: str, fp: str, prefix: int) -> None:
        self.remove(template_id)
        keys = list({word_key(w) for w in fp.split()})
        pref = [keys[i] for i in np.argsort(self.df(keys), kind="stable")[:prefix].tolist()]
        self.delta_pref[template_id] = pref
        for key in pref:
            self.delta_post.setdefault(key, set()).add(template_id)
        self.delta[template_id] = fp

    def remove(self, template_id: str) -> bool:
        if self.delta.pop(template_id, None) is not None:
            for key in self.delta_pref.pop(template_id, ()):
                ids = self.delta_post.get(key)
                if ids is not None:
                    ids.discard(template_id)
                    if not ids:
                        del self.delta_post[key]
            return True
        row = self.row_of(template_id)
        if row is None:
            return False
        self.dead[row] = True
        self.n_dead += 1
        return True

    def items(self) -> Iterator[tuple[str, str]]:
        dead = self.dead
        for row in range(self.n):
            if not dead[row]:
                yield self.id(row), self.fp(row)
        yield from list(self.delta.items())


class CandidateIndex:
    """Top-``k`` candidate templates for a fingerprint, over up to millions of templates.

    ``build(items)`` makes an index from ``(id, fingerprint)`` pairs; ``add``/``remove`` change it in
    place (visible to the next ``candidates``); ``save(dir)``/``load(dir)`` persist it.
    ``candidates(fp, k, min_similarity)`` returns ``(id, fingerprint)`` pairs, most promising first.

    Thread safety: queries take no lock (each works on the generation it started with); writes
    are serialised by a lock; ``compact`` builds the new main segment without holding it, then
    replays the writes made meanwhile.
    """

    state: dict[str, Any]

    def __init__(self, *, prefix: int = 10, probe: int = 20, shortlist: int = 1000, budget: int = 200_000,
                 compact_ratio: float = 0.05) -> None:
        self.prefix = prefix
        self.probe = min(probe, _MAX_PROBE)
        self.shortlist = shortlist
        self.budget = budget
        self.compact_ratio = compact_ratio
        self.state = {}
        self._local = threading.local()
        self._lock = threading.RLock()  # writes
        self._compacting = threading.Lock()  # one compaction at a time
        self._journal: list[tuple[str, str | None]] | None = None  # writes during a compaction
        self._gen = _Generation(_empty_main())

    @classmethod
    def build(cls, items: Iterable[tuple[str, str]], **options: Any) -> CandidateIndex:
        index = cls(**options)
        index._gen = _Generation(_build_main(items, index.prefix))
        return index

    # --- size and lookup ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._gen)

    def __contains__(self, template_id: object) -> bool:
        return isinstance(template_id, str) and self.get(template_id) is not None

    def get(self, template_id: str) -> str | None:
        """The fingerprint of a template, or None."""
        g = self._gen
        fp = g.delta.get(template_id)
        if fp is not None:
            return fp
        row = g.row_of(template_id)
        return None if row is None else g.fp(row)

    def items(self) -> Iterator[tuple[str, str]]:
        """All live ``(id, fingerprint)`` pairs: the main segment, then the delta."""
        return self._gen.items()

    # --- writes ------------------------------------------------------------------------------

    def add(self, template_id: str, fp: str) -> None:
        """Insert or replace a template; visible to the next ``candidates`` call."""
        with self._lock:
            self._gen.add(template_id, fp, self.prefix)
            if self._journal is not None:
                self._journal.append((template_id, fp))

    def remove(self, template_id: str) -> bool:
        """Remove a template; False when it was not there."""
        with self._lock:
            if self._journal is not None:
                self._journal.append((template_id, None))
            return self._gen.remove(template_id)

    # --- queries -----------------------------------------------------------------------------

    def candidates(self, fp: str, k: int = 30, min_similarity: float = 0.0) -> list[tuple[str, str]]:
        """Up to ``k`` ``(id, fingerprint)`` pairs worth re-ranking for ``fp``, most promising first.

        Only templates whose fingerprint length allows ``fuzz.ratio`` ≥ ``min_similarity`` qualify.
        """
        words = set(fp.split())
        if not words or k <= 0:
            return []
        g = self._gen
        lq = len(fp)
        lo_len, hi_len = length_bounds(lq, min_similarity)
        wl = list(words)
        keys = np.fromiter((word_key(w) for w in wl), dtype=np.uint64, count=len(wl))
        found: list[tuple[float, int | str]] = []
        if g.n:
            wlen = np.fromiter((len(w) + 1 for w in wl), dtype=np.float32, count=len(wl))
            rows, est = self._main_candidates(g, keys, wlen, lq, lo_len, hi_len, k)
            found.extend(zip(est.tolist(), rows.tolist()))
        if g.delta:
            found.extend(self._delta_candidates(g, words, keys, lq, lo_len, hi_len, k))
        found.sort(key=lambda x: -x[0])
        out = []
        for _, ref in found:
            if isinstance(ref, str):
                f = g.delta.get(ref)
                if f is None:  # removed meanwhile
                    continue
                out.append((ref, f))
            else:
                out.append((g.id(ref), g.fp(ref)))
            if len(out) == k:
                break
        return out

    def _main_candidates(self, g: _Generation, keys: np.ndarray, wlen: np.ndarray, lq: int, lo_len: int,
                         hi_len: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        m, n = g.m, g.n
        empty = (np.zeros(0, np.int64), np.zeros(0))
        lo_row, hi_row = _row_range(m["fp_len"], lo_len, hi_len)
        wk = m["word_key"]
        if lo_row >= hi_row or wk.shape[0] == 0:
            return empty
        i = np.minimum(wk.searchsorted(keys), wk.shape[0] - 1)
        i = i[wk[i] == keys]
        if i.shape[0] == 0:
            return empty
        # stage 1: the query's rarest words through their prefix posting lists, cut to the length window
        probe = i[np.argsort(m["word_df"][i], kind="stable")[: self.probe]]
        ptr, post = m["post_ptr"], m["post"]
        starts, ends = ptr[probe].tolist(), ptr[probe + 1].tolist()
        bounds = np.array([lo_row, hi_row], dtype=post.dtype)  # a Python int would cast all of `seg`
        slices, sizes, total = [], [], 0
        for j in range(probe.shape[0]):
            seg = post[starts[j]:ends[j]]
            a, b = seg.searchsorted(bounds).tolist() if ends[j] > starts[j] else (0, 0)
            if b > a and total and total + (b - a) > self.budget:
                a = b  # over budget: drop this (long, so little telling) list
            total += b - a
            slices.append(seg[a:b])
            sizes.append(b - a)
        if not total:
            return empty
        # (row << 6 | probe number), sorted: each run of one row is a template hit, with its words
        wide = np.int64 if n >= 1 << 25 else np.int32
        key = np.concatenate(slices).astype(wide)
        key <<= 6
        key |= np.repeat(np.arange(len(sizes), dtype=wide), sizes)
        key.sort()
        rows = key >> 6
        edge = np.empty(rows.shape[0], dtype=bool)
        edge[0] = True
        np.not_equal(rows[1:], rows[:-1], out=edge[1:])
        first = np.flatnonzero(edge)
        uniq = rows[first].astype(np.int64)
        score = np.add.reduceat(m["word_idf"][probe][key & 63], first) * m["pref_inv"][uniq]
        if g.n_dead:
            alive = ~g.dead[uniq]
            uniq, score = uniq[alive], score[alive]
            if uniq.shape[0] == 0:
                return empty
        if uniq.shape[0] > self.shortlist:
            uniq = uniq[np.argpartition(-score, self.shortlist - 1)[: self.shortlist]]
        # stage 2: characters of the template's tokens that are query words (16-bit word keys)
        table = self._table()
        k16 = (keys >> np.uint64(48)).astype(np.intp)
        table[k16] = wlen
        try:
            bp = m["bag_ptr"]
            bs = bp[uniq]
            bl = bp[uniq + 1] - bs
            offs = np.zeros(uniq.shape[0], np.int64)
            np.cumsum(bl[:-1], out=offs[1:])
            gather = np.repeat(bs - offs, bl) + np.arange(int(offs[-1] + bl[-1]), dtype=np.int64)
            shared = np.add.reduceat(table[m["bag"][gather]], offs)
        finally:
            table[k16] = 0.0
        est = 2.0 * shared / (m["fp_len"][uniq] + lq)
        if uniq.shape[0] > k:
            top = np.argpartition(-est, k - 1)[:k]
            uniq, est = uniq[top], est[top]
        return uniq, est

    def _table(self) -> np.ndarray:
        """This thread's scratch table: query word characters by 16-bit word key (zero elsewhere)."""
        t = getattr(self._local, "table", None)
        if t is None:
            t = self._local.table = np.zeros(1 << 16, np.float32)
        return t

    def _delta_candidates(self, g: _Generation, words: set[str], keys: np.ndarray, lq: int, lo_len: int,
                          hi_len: int, k: int) -> list[tuple[float, str]]:
        """The same two stages over the (small) delta, in Python; no lock: only atomic dict/set calls."""
        hits: dict[str, int] = {}
        for key in keys.tolist():
            ids = g.delta_post.get(key)
            if ids:
                for tid in ids.copy():
                    hits[tid] = hits.get(tid, 0) + 1
        if len(hits) > self.shortlist:
            hits = dict(sorted(hits.items(), key=lambda x: -x[1])[: self.shortlist])
        out = []
        for tid in hits:
            f = g.delta.get(tid)
            if f is not None and lo_len <= len(f) <= hi_len:
                shared = sum(len(w) + 1 for w in f.split() if w in words)
                out.append((2.0 * shared / (len(f) + lq), tid))
        out.sort(key=lambda x: -x[0])
        return out[:k]

    # --- persistence -------------------------------------------------------------------------

    def compact(self) -> None:
        """Fold the delta and the removals into a freshly built main segment.

        Queries and writes go on meanwhile (on the old generation); writes made during the build
        are replayed on the new one before it replaces the old.
        """
        with self._compacting:
            with self._lock:
                self._journal = []
                old = self._gen
            try:
                main = _build_main(old.items(), self.prefix)
            except BaseException:
                with self._lock:
                    self._journal = None
                raise
            with self._lock:
                new = _Generation(main)
                for tid, fp in self._journal:
                    if fp is None:
                        new.remove(tid)
                    else:
                        new.add(tid, fp, self.prefix)
                self._journal = None
                self._gen = new

    def save(self, directory: str | os.PathLike[str], *, state: dict[str, Any] | None = None) -> None:
        """Persist into ``directory``; ``state`` is caller metadata kept with it (e.g. a change-log position).

        The main segment is written only when this directory does not hold it yet (as a new
        generation directory); the delta and the removals (rows of that segment) go to a small JSON file; the manifest naming both is replaced
        atomically, so a reader sees the old or the new index, never a mix. Compacts first when the
        delta and removals exceed ``compact_ratio`` of the main segment.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        g = self._gen
        if len(g.delta) + g.n_dead > self.compact_ratio * max(g.n, 1) and (g.delta or g.n_dead):
            self.compact()
        with self._lock:
            g = self._gen
            delta = {"dead": np.flatnonzero(g.dead).tolist(), "delta": dict(g.delta)}
            self.state = dict(state or {})
        where = str(d.resolve())
        with _dir_lock(d, fcntl.LOCK_EX):  # one writer per directory, and no reader mid-way
            manifest_path = d / "manifest.json"
            tag = f"{os.getpid()}-{os.urandom(4).hex()}"
            if g.saved_as is not None and g.saved_as[0] == where and (d / g.saved_as[1]).is_dir():
                main_name = g.saved_as[1]  # this main segment is on disk already
            else:
                main_name = f"main-{tag}"
                tmp = d / f"{main_name}.tmp"
                tmp.mkdir()
                for name in _MAIN_FILES:
                    np.save(tmp / f"{name}.npy", np.ascontiguousarray(g.m[name]))
                os.replace(tmp, d / main_name)
                g.saved_as = (where, main_name)
            delta_name = f"delta-{tag}.json"
            (d / delta_name).write_text(json.dumps(delta, ensure_ascii=False), encoding="utf-8")
            manifest = {"format": FORMAT_VERSION, "main": main_name, "delta": delta_name, "prefix": self.prefix,
                        "count": g.n - len(delta["dead"]) + len(delta["delta"]), "state": self.state}
            tmp_manifest = d / f"manifest-{tag}.tmp"
            tmp_manifest.write_text(json.dumps(manifest), encoding="utf-8")
            os.replace(tmp_manifest, manifest_path)
            for p in d.iterdir():  # earlier generations (processes that still map them keep their pages)
                if p.name.startswith(("main-", "delta-", "manifest-")) and p.name not in (main_name, delta_name):
                    if p.is_dir():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], **options: Any) -> CandidateIndex:
        """Open a saved index: the main segment memory-mapped, the delta replayed."""
        d = Path(directory)
        with _dir_lock(d, fcntl.LOCK_SH):
            manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                raise ValueError(f"candidate index format {manifest.get('format')}, expected {FORMAT_VERSION}")
            # plain ndarray views of the maps: slicing np.memmap objects costs ~10x more
            main = {name: np.load(d / manifest["main"] / f"{name}.npy", mmap_mode="r").view(np.ndarray)
                    for name in _MAIN_FILES}
            delta = json.loads((d / manifest["delta"]).read_text(encoding="utf-8"))
        options.setdefault("prefix", manifest["prefix"])
        index = cls(**options)
        g = _Generation(main)
        if delta["dead"]:
            g.dead[np.asarray(delta["dead"], dtype=np.int64)] = True
            g.n_dead = len(delta["dead"])
        for tid, fp in delta["delta"].items():
            g.add(tid, fp, index.prefix)
        g.saved_as = (str(d.resolve()), manifest["main"])
        index._gen = g
        index.state = manifest.get("state", {})
        return index


@contextmanager
def _dir_lock(d: Path, mode: int) -> Iterator[None]:
    """An advisory lock on ``d/lock``: exclusive for ``save``, shared for ``load``."""
    with open(d / "lock", "a+b") as f:
        fcntl.flock(f, mode)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _row_range(fp_len: np.ndarray, lo_len: int, hi_len: int) -> tuple[int, int]:
    """Rows whose fingerprint length lies in [lo_len, hi_len] (rows are sorted by length).

    The bounds go in as int32 arrays: a Python int would make numpy cast the whole array.
    """
    lo, hi = (np.array([min(x, 1 << 30)], np.int32) for x in (lo_len, hi_len))
    return int(fp_len.searchsorted(lo, side="left")[0]), int(fp_len.searchsorted(hi, side="right")[0])


def _empty_main() -> dict[str, np.ndarray]:
    return {
        "fp_blob": np.zeros(0, np.uint8), "fp_off": np.zeros(1, np.int64), "fp_len": np.zeros(0, np.int32),
        "id_blob": np.zeros(0, np.uint8), "id_off": np.zeros(1, np.int64),
        "id_hash": np.zeros(0, np.uint64), "id_row": np.zeros(0, np.int32),
        "word_key": np.zeros(0, np.uint64), "word_df": np.zeros(0, np.int32), "word_idf": np.zeros(0, np.float32),
        "post_ptr": np.zeros(1, np.int64), "post": np.zeros(0, np.int32), "pref_inv": np.zeros(0, np.float32),
        "bag_ptr": np.zeros(1, np.int64), "bag": np.zeros(0, np.uint16),
    }


def _build_main(items: Iterable[tuple[str, str]], prefix: int) -> dict[str, np.ndarray]:
    """Build the immutable main segment: one pass over the words in Python, the rest vectorised."""
    vocab: dict[str, int] = {}
    ids: list[bytes] = []
    fps: list[bytes] = []
    lengths = array("i")
    counts = array("q")
    tokens = array("i")
    doc_of: dict[str, int] = {}
    replaced: list[int] = []
    for tid, fp in items:
        old = doc_of.get(tid)
        if old is not None:  # the same id twice: the last one wins
            replaced.append(old)
        doc_of[tid] = len(ids)
        ids.append(tid.encode())
        fps.append(fp.encode())
        lengths.append(len(fp))
        toks = fp.split()
        counts.append(len(toks))
        tokens.extend([vocab.setdefault(w, len(vocab)) for w in toks])
    del doc_of
    live = np.ones(len(ids), dtype=bool)
    live[replaced] = False
    live_docs = np.flatnonzero(live)
    n = int(live_docs.shape[0])
    if n == 0:
        return _empty_main()
    tok = np.frombuffer(tokens, dtype=np.int32) if tokens else np.zeros(0, np.int32)
    cnt = np.frombuffer(counts, dtype=np.int64)
    tok_start = np.zeros(cnt.shape[0] + 1, np.int64)
    np.cumsum(cnt, out=tok_start[1:])
    vocab_words = list(vocab)
    del vocab
    n_words = len(vocab_words)
    keys = np.fromiter((word_key(w) for w in vocab_words), dtype=np.uint64, count=n_words)
    del vocab_words
    # rows in order of fingerprint length (the length filter becomes a row range)
    doc_len = np.frombuffer(lengths, dtype=np.int32)[live_docs]
    order = np.argsort(doc_len, kind="stable")
    perm = live_docs[order]  # row -> document
    fp_len = doc_len[order]
    row_cnt = cnt[perm]
    bag_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(row_cnt, out=bag_ptr[1:])
    row_tok = np.empty(int(bag_ptr[-1]), np.int32)  # every token of every row, in row order
    for lo in range(0, n, 1 << 16):  # in chunks: one int64 index array over all tokens is big
        hi = min(n, lo + (1 << 16))
        c = row_cnt[lo:hi]
        gather = np.repeat(tok_start[perm[lo:hi]] - bag_ptr[lo:hi], c)
        gather += np.arange(bag_ptr[lo], bag_ptr[hi], dtype=np.int64)
        row_tok[bag_ptr[lo]:bag_ptr[hi]] = tok[gather]
    del gather, tok, tokens
    bag = (keys[row_tok] >> np.uint64(48)).astype(np.uint16)
    # distinct (row, word) pairs and document frequencies
    pair = np.repeat(np.arange(n, dtype=np.int64), row_cnt)
    pair <<= 32
    pair |= row_tok
    del row_tok
    pair.sort()
    keep = np.ones(pair.shape[0], dtype=bool)
    np.not_equal(pair[1:], pair[:-1], out=keep[1:])
    pair = pair[keep]
    del keep
    word = (pair & 0xFFFFFFFF).astype(np.int32)
    df = np.bincount(word, minlength=n_words).astype(np.int32)
    # each row's `prefix` rarest words (by df, ties by word number)
    by_rarity = np.lexsort((np.arange(n_words), df))
    rarity = np.empty(n_words, np.int32)
    rarity[by_rarity] = np.arange(n_words, dtype=np.int32)
    pair >>= 32
    pair <<= 32
    pair |= rarity[word]
    del word, rarity
    pair.sort()
    row_start = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(pair >> 32, minlength=n), out=row_start[1:])
    pick = row_start[:-1, None] + np.arange(prefix, dtype=np.int64)[None, :]  # first `prefix` of each row
    pick = pick[pick < row_start[1:, None]]
    chosen = pair[pick]
    del pair, pick
    pw = by_rarity[chosen & 0xFFFFFFFF]
    pd = (chosen >> 32).astype(np.int32)
    del chosen, by_rarity
    idf = np.log1p(n / np.maximum(df, 1).astype(np.float64))
    pref_w = np.bincount(pd, weights=idf[pw], minlength=n)
    # vocabulary by 64-bit key; postings grouped by word key, rows ascending (= by length)
    korder = np.argsort(keys, kind="stable")
    key_rank = np.empty(n_words, np.int64)
    key_rank[korder] = np.arange(n_words)
    post_key = key_rank[pw] << 32
    post_key |= pd
    post_key.sort()
    post = (post_key & 0xFFFFFFFF).astype(np.int32)
    post_ptr = np.zeros(n_words + 1, np.int64)
    np.cumsum(np.bincount(post_key >> 32, minlength=n_words), out=post_ptr[1:])
    del post_key, pw, pd
    # blobs in row order
    rows_docs = perm.tolist()
    fp_sorted = [fps[i] for i in rows_docs]
    del fps
    fp_off = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter((len(b) for b in fp_sorted), np.int64, count=n), out=fp_off[1:])
    fp_blob = np.frombuffer(b"".join(fp_sorted), dtype=np.uint8)
    del fp_sorted
    id_sorted = [ids[i] for i in rows_docs]
    del ids
    id_off = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter((len(b) for b in id_sorted), np.int64, count=n), out=id_off[1:])
    id_blob = np.frombuffer(b"".join(id_sorted), dtype=np.uint8)
    id_keys = np.fromiter((_id_key(b.decode()) for b in id_sorted), dtype=np.uint64, count=n)
    del id_sorted
    id_order = np.argsort(id_keys, kind="stable")
    return {
        "fp_blob": fp_blob, "fp_off": fp_off, "fp_len": fp_len.astype(np.int32),
        "id_blob": id_blob, "id_off": id_off,
        "id_hash": id_keys[id_order], "id_row": id_order.astype(np.int32),
        "word_key": keys[korder], "word_df": df[korder], "word_idf": idf[korder].astype(np.float32),
        "post_ptr": post_ptr, "post": post,
        "pref_inv": (1.0 / np.maximum(pref_w, 1e-9)).astype(np.float32),
        "bag_ptr": bag_ptr, "bag": bag,
    }
