"""Candidate retrieval over template fingerprints: which few templates are worth a ``fuzz.ratio``.

Brute force scores every template (~2 µs each, ~1 s per query at a million). This index returns a
short list of candidates for the caller to re-rank with the exact score (templates.py), so the
similarity of every returned match is the brute-force similarity; what can differ is only whether
the best template is among the candidates (measured by bench/templates.py and
tests/test_candidates.py).

How it picks them:

* **Rare words identify a template.** A fingerprint is a sorted list of words. Each template is
  posted in an inverted index under its ``prefix`` rarest distinct words only (rarest by document
  frequency over the corpus, the prefix-filtering idea of set-similarity joins). Boilerplate words
  shared by many templates are nearly never among a template's rarest, so their posting lists stay
  short: the total index is ``prefix`` × N row numbers and no query walks a list of common words.
* **Query side** looks up *all* its distinct words, so a template whose rare words mostly survive
  (typos touch one or two words; names are slots; greetings are stripped; order does not matter;
  an added clause only adds words) collects most of its prefix. Each hit counts with its IDF; a
  template's score is the share of its prefix weight the query covers, and the ``k`` best go to
  re-ranking. Posting lists longer than a per-query budget are skipped, longest first.
* **Length filter.** ``fuzz.ratio`` = 2·LCS / (len a + len b), so a similarity ≥ s needs the shorter
  fingerprint to be at least s / (2 − s) of the longer one. Rows are stored in order of fingerprint
  length, so the filter is a row range and each posting list is cut to it with two binary searches.
* **Compact storage.** Fingerprints and ids live in UTF-8 blobs with offsets, word keys are 64-bit
  hashes in a sorted array, postings are int32 in CSR form: no per-template Python objects. Saved
  as ``.npy`` files and loaded memory-mapped, so start-up costs milliseconds and worker processes
  share the pages.
* **Writes** go to a small in-memory delta (dicts) and a tombstone array over the immutable main
  segment, both visible to the next query; ``save`` persists them cheaply, and ``compact`` (or
  ``save`` once the delta outgrows ``compact_ratio`` of the main segment) rebuilds the main segment.

Only numpy and the standard library: the exact score (rapidfuzz) stays in templates.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1
_MAIN_FILES = ("fp_blob", "fp_off", "fp_len", "id_blob", "id_off", "id_hash", "id_row",
               "word_key", "word_df", "post_ptr", "post", "pref_w", "bag_ptr", "bag")


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
    lo = math.ceil(n * r / (2.0 - r) - 1e-9)
    hi = math.floor(n * (2.0 - r) / r + 1e-9)
    return lo, hi


class CandidateIndex:
    """Top-``k`` candidate templates for a fingerprint, over up to millions of templates.

    ``build(items)`` makes an index from ``(id, fingerprint)`` pairs; ``add``/``remove`` change it in
    place (visible to the next ``candidates``); ``save(dir)``/``load(dir)`` persist it.
    ``candidates(fp, k, min_similarity)`` returns ``(id, fingerprint)`` pairs, most promising first.
    """

    def __init__(self, *, prefix: int = 10, probe: int = 24, shortlist: int = 2000, budget: int = 200_000,
                 compact_ratio: float = 0.05) -> None:
        self.prefix = prefix
        self.probe = probe
        self.shortlist = shortlist
        self.budget = budget
        self.compact_ratio = compact_ratio
        self._set_main(_empty_main())
        self._local = threading.local()
        self._lock = threading.Lock()  # writers; readers see consistent snapshots of dict/array refs

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def build(cls, items: Iterable[tuple[str, str]], **options) -> CandidateIndex:
        index = cls(**options)
        index._set_main(_build_main(items, index.prefix))
        return index

    def _set_main(self, main: dict[str, np.ndarray]) -> None:
        self._m = main
        self._n = int(main["fp_len"].shape[0])
        self._dead = np.zeros(self._n, dtype=bool)
        self._n_dead = 0
        self._delta: dict[str, str] = {}  # id -> fingerprint
        self._delta_post: dict[int, set[str]] = {}  # word key -> ids (prefix words of delta templates)
        self._delta_pref: dict[str, tuple[list[int], float]] = {}  # id -> (prefix keys, prefix weight)
        self._dirty_main = True

    # --- size and lookup ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n - self._n_dead + len(self._delta)

    def __contains__(self, template_id: str) -> bool:
        return self.get(template_id) is not None

    def get(self, template_id: str) -> str | None:
        """The fingerprint of a template, or None."""
        fp = self._delta.get(template_id)
        if fp is not None:
            return fp
        row = self._row_of(template_id)
        return None if row is None else self._fp(row)

    def items(self) -> Iterator[tuple[str, str]]:
        """All live ``(id, fingerprint)`` pairs (main segment, then the delta)."""
        dead = self._dead
        for row in range(self._n):
            if not dead[row]:
                yield self._id(row), self._fp(row)
        yield from list(self._delta.items())

    def _row_of(self, template_id: str) -> int | None:
        m = self._m
        keys = m["id_hash"]
        if keys.shape[0] == 0:
            return None
        key = np.uint64(_id_key(template_id))
        i = int(np.searchsorted(keys, key))
        while i < keys.shape[0] and keys[i] == key:
            row = int(m["id_row"][i])
            if not self._dead[row] and self._id(row) == template_id:
                return row
            i += 1
        return None

    def _fp(self, row: int) -> str:
        off = self._m["fp_off"]
        return self._m["fp_blob"][off[row]:off[row + 1]].tobytes().decode()

    def _id(self, row: int) -> str:
        off = self._m["id_off"]
        return self._m["id_blob"][off[row]:off[row + 1]].tobytes().decode()

    # --- writes ------------------------------------------------------------------------------

    def add(self, template_id: str, fp: str) -> None:
        """Insert or replace a template; visible to the next ``candidates`` call."""
        with self._lock:
            self._remove(template_id)
            keys = list({word_key(w) for w in fp.split()})
            df = self._df(keys)
            n = max(self._n, 1)
            order = np.argsort(df, kind="stable")[: self.prefix]
            pref = [keys[i] for i in order]
            weight = float(sum(_idf(n, int(df[i])) for i in order))
            self._delta[template_id] = fp
            self._delta_pref[template_id] = (pref, weight)
            for k in pref:
                self._delta_post.setdefault(k, set()).add(template_id)

    def remove(self, template_id: str) -> bool:
        """Remove a template; False when it was not there."""
        with self._lock:
            return self._remove(template_id)

    def _remove(self, template_id: str) -> bool:
        if self._delta.pop(template_id, None) is not None:
            pref, _ = self._delta_pref.pop(template_id)
            for k in pref:
                ids = self._delta_post.get(k)
                if ids is not None:
                    ids.discard(template_id)
                    if not ids:
                        del self._delta_post[k]
            return True
        row = self._row_of(template_id)
        if row is None:
            return False
        self._dead[row] = True
        self._n_dead += 1
        return True

    def _df(self, keys: list[int]) -> np.ndarray:
        """Document frequencies of word keys in the main segment (0 for unknown words)."""
        wk = self._m["word_key"]
        q = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        if wk.shape[0] == 0:
            return np.zeros(len(keys), dtype=np.int64)
        i = np.minimum(np.searchsorted(wk, q), wk.shape[0] - 1)
        return np.where(wk[i] == q, self._m["word_df"][i], 0).astype(np.int64)

    # --- queries -----------------------------------------------------------------------------

    def candidates(self, fp: str, k: int = 50, min_similarity: float = 0.0) -> list[tuple[str, str]]:
        """Up to ``k`` ``(id, fingerprint)`` pairs worth re-ranking for ``fp``, most promising first.

        Only templates whose fingerprint length allows ``fuzz.ratio`` ≥ ``min_similarity`` qualify.
        """
        words = set(fp.split())
        if not words or k <= 0:
            return []
        lq = len(fp)
        lo_len, hi_len = length_bounds(lq, min_similarity)
        wl = list(words)
        keys = np.fromiter((word_key(w) for w in wl), dtype=np.uint64, count=len(wl))
        wlen = np.fromiter((len(w) + 1 for w in wl), dtype=np.float32, count=len(wl))
        found: list[tuple[float, int | str]] = []
        if self._n:
            rows, est = self._main_candidates(keys, wlen, lq, lo_len, hi_len, k)
            found.extend(zip(est.tolist(), rows.tolist()))
        if self._delta:
            found.extend(self._delta_candidates(words, keys, lq, lo_len, hi_len))
        found.sort(key=lambda x: -x[0])
        out = []
        for _, ref in found[:k]:
            if isinstance(ref, str):
                out.append((ref, self._delta[ref]))
            else:
                out.append((self._id(ref), self._fp(ref)))
        return out

    def _main_candidates(self, keys, wlen, lq, lo_len, hi_len, k):
        m = self._m
        n = self._n
        empty = (np.zeros(0, np.int64), np.zeros(0))
        wk = m["word_key"]
        i = np.minimum(np.searchsorted(wk, keys), wk.shape[0] - 1)
        known = wk[i] == keys
        i = i[known]
        if i.shape[0] == 0:
            return empty
        # stage 1: the query's rarest words, through their prefix posting lists
        df = m["word_df"][i]
        probe = i[np.argsort(df, kind="stable")[: self.probe]]
        ptr = m["post_ptr"]
        starts, ends = ptr[probe], ptr[probe + 1]
        fp_len = m["fp_len"]
        lo_row = int(np.searchsorted(fp_len, lo_len, side="left"))
        hi_row = int(np.searchsorted(fp_len, hi_len, side="right"))
        if lo_row >= hi_row:
            return empty
        post = m["post"]
        idf = np.log1p(n / m["word_df"][probe].astype(np.float64))
        slices, wts, total = [], [], 0
        for j in range(probe.shape[0]):
            s, e = int(starts[j]), int(ends[j])
            if e <= s:
                continue
            seg = post[s:e]
            if lo_row > 0 or hi_row < n:
                a = int(np.searchsorted(seg, lo_row, side="left"))
                b = int(np.searchsorted(seg, hi_row, side="left"))
                seg = seg[a:b]
            if seg.shape[0] == 0:
                continue
            if total + seg.shape[0] > self.budget and slices:
                break
            total += seg.shape[0]
            slices.append(seg)
            wts.append(np.full(seg.shape[0], idf[j], dtype=np.float64))
        if not slices:
            return empty
        rows = np.concatenate(slices)
        uniq, inv = np.unique(rows, return_inverse=True)
        score = np.bincount(inv, weights=np.concatenate(wts)) / m["pref_w"][uniq]
        if self._n_dead:
            alive = ~self._dead[uniq]
            uniq, score = uniq[alive], score[alive]
        if uniq.shape[0] > self.shortlist:
            top = np.argpartition(-score, self.shortlist - 1)[: self.shortlist]
            uniq = uniq[top]
        # stage 2: shared characters of whole words (all of them) via 16-bit word keys
        table = self._table()
        k16 = (keys >> np.uint64(48)).astype(np.intp)
        table[k16] = wlen
        bp = m["bag_ptr"]
        bs = bp[uniq]
        bl = bp[uniq + 1] - bs
        offs = np.zeros(uniq.shape[0], np.int64)
        np.cumsum(bl[:-1], out=offs[1:])
        gather = np.repeat(bs - offs, bl) + np.arange(int(bl.sum()), dtype=np.int64)
        shared = np.add.reduceat(table[m["bag"][gather]], offs)
        table[k16] = 0.0
        lt = fp_len[uniq].astype(np.float64)
        est = 2.0 * shared / (lt + lq)
        if uniq.shape[0] > k:
            top = np.argpartition(-est, k - 1)[:k]
            uniq, est = uniq[top], est[top]
        return uniq, est

    def _table(self) -> np.ndarray:
        t = getattr(self._local, "table", None)
        if t is None:
            t = self._local.table = np.zeros(1 << 16, np.float32)
        return t

    def _delta_candidates(self, words, keys, lq, lo_len, hi_len):
        hit: set[str] = set()
        for key in keys.tolist():
            hit.update(self._delta_post.get(key, ()))
        out = []
        for tid in hit:
            f = self._delta[tid]
            if lo_len <= len(f) <= hi_len:
                shared = sum(len(w) + 1 for w in words.intersection(f.split()))
                out.append((2.0 * shared / (len(f) + lq), tid))
        return out

    # --- persistence -------------------------------------------------------------------------

    def compact(self) -> None:
        """Fold the delta and the removals into a freshly built main segment."""
        with self._lock:
            items = list(self.items())
            self._set_main(_build_main(items, self.prefix))

    def save(self, directory: str | os.PathLike[str], *, state: dict | None = None) -> None:
        """Persist to ``directory`` (atomic per file set). ``state`` is caller metadata kept with it."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        if len(self._delta) + self._n_dead > self.compact_ratio * max(self._n, 1) and (self._delta or self._n_dead):
            self.compact()
        manifest_path = d / "manifest.json"
        old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        main_id = old.get("main")
        if self._dirty_main or main_id is None or not (d / main_id).exists():
            main_id = f"main-{os.getpid()}-{int.from_bytes(os.urandom(4), 'little'):08x}"
            tmp = d / (main_id + ".tmp")
            tmp.mkdir()
            for name in _MAIN_FILES:
                np.save(tmp / f"{name}.npy", np.asarray(self._m[name]))
            os.replace(tmp, d / main_id)
            self._dirty_main = False
        delta = {
            "dead": np.flatnonzero(self._dead).tolist(),
            "delta": self._delta,
        }
        delta_name = f"delta-{os.getpid()}-{int.from_bytes(os.urandom(4), 'little'):08x}.json"
        (d / delta_name).write_text(json.dumps(delta, ensure_ascii=False))
        manifest = {"format": FORMAT_VERSION, "main": main_id, "delta": delta_name, "prefix": self.prefix,
                    "count": len(self), "state": state or {}}
        tmp_manifest = d / f"manifest.{os.getpid()}.tmp"
        tmp_manifest.write_text(json.dumps(manifest))
        os.replace(tmp_manifest, manifest_path)
        for p in d.iterdir():  # older generations
            if p.name not in (main_id, delta_name, "manifest.json") and (
                p.name.startswith("main-") or p.name.startswith("delta-")
            ):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], **options) -> CandidateIndex:
        """Open a saved index (memory-mapped; the delta is replayed)."""
        d = Path(directory)
        manifest = json.loads((d / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"candidate index format {manifest.get('format')} != {FORMAT_VERSION}")
        options.setdefault("prefix", manifest["prefix"])
        index = cls(**options)
        # plain ndarray views of the memory maps: slicing np.memmap objects is ~10x slower
        main = {name: np.load(d / manifest["main"] / f"{name}.npy", mmap_mode="r").view(np.ndarray)
                for name in _MAIN_FILES}
        index._set_main(main)
        index._dirty_main = False
        delta = json.loads((d / manifest["delta"]).read_text())
        if delta["dead"]:
            index._dead[np.asarray(delta["dead"], dtype=np.int64)] = True
            index._n_dead = len(delta["dead"])
        for tid, fp in delta["delta"].items():
            index.add(tid, fp)
        index.state = manifest.get("state", {})
        return index

    state: dict = {}


def _idf(n: int, df: int) -> float:
    return math.log1p(n / max(df, 1))


def _empty_main() -> dict[str, np.ndarray]:
    return {
        "fp_blob": np.zeros(0, np.uint8), "fp_off": np.zeros(1, np.int64), "fp_len": np.zeros(0, np.int32),
        "id_blob": np.zeros(0, np.uint8), "id_off": np.zeros(1, np.int64),
        "id_hash": np.zeros(0, np.uint64), "id_row": np.zeros(0, np.int32),
        "word_key": np.zeros(0, np.uint64), "word_df": np.zeros(0, np.int32),
        "post_ptr": np.zeros(1, np.int64), "post": np.zeros(0, np.int32), "pref_w": np.zeros(0, np.float64),
        "bag_ptr": np.zeros(1, np.int64), "bag": np.zeros(0, np.uint16),
    }


def _build_main(items: Iterable[tuple[str, str]], prefix: int) -> dict[str, np.ndarray]:
    """Build the immutable main segment (vectorised apart from one pass over the words)."""
    vocab: dict[str, int] = {}
    ids: list[bytes] = []
    fps: list[bytes] = []
    lengths: list[int] = []
    doc_words: list[np.ndarray] = []
    seen_ids: dict[str, int] = {}
    setdefault = vocab.setdefault
    for tid, fp in items:
        if tid in seen_ids:  # last one wins
            fps[seen_ids[tid]] = fp.encode()
            lengths[seen_ids[tid]] = len(fp)
            doc_words[seen_ids[tid]] = np.array([setdefault(w, len(vocab)) for w in set(fp.split())], np.int32)
            continue
        seen_ids[tid] = len(ids)
        ids.append(tid.encode())
        fps.append(fp.encode())
        lengths.append(len(fp))
        doc_words.append(np.array([setdefault(w, len(vocab)) for w in set(fp.split())], np.int32))
    del seen_ids
    n = len(ids)
    if n == 0:
        return _empty_main()
    # rows in order of fingerprint length: the length filter becomes a row range
    length = np.asarray(lengths, dtype=np.int32)
    perm = np.argsort(length, kind="stable")  # new row -> old doc
    inv_perm = np.empty(n, np.int64)
    inv_perm[perm] = np.arange(n)
    counts = np.fromiter((a.shape[0] for a in doc_words), dtype=np.int64, count=n)
    words = np.concatenate(doc_words) if n else np.zeros(0, np.int32)
    del doc_words
    doc = np.repeat(inv_perm, counts).astype(np.int32)  # row of each (doc, word) entry
    vocab_words = list(vocab)
    del vocab
    keys = np.fromiter((word_key(w) for w in vocab_words), dtype=np.uint64, count=len(vocab_words))
    del vocab_words
    # every distinct word of each row as a 16-bit key (for the shared-characters estimate)
    bag_order = np.argsort(doc, kind="stable")
    bag = (keys[words[bag_order]] >> np.uint64(48)).astype(np.uint16)
    del bag_order
    bag_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts[perm], out=bag_ptr[1:])
    df = np.bincount(words, minlength=keys.shape[0]).astype(np.int32)
    # the `prefix` rarest words of each row
    order = np.lexsort((words, df[words], doc))
    words, doc = words[order], doc[order]
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(doc, minlength=n), out=starts[1:])
    rank = np.arange(words.shape[0], dtype=np.int64) - starts[doc]
    keep = rank < prefix
    pw, pd = words[keep], doc[keep]
    del words, doc, order, rank, keep
    idf = np.log1p(n / np.maximum(df, 1).astype(np.float64))
    pref_w = np.bincount(pd, weights=idf[pw], minlength=n)
    # vocabulary by 64-bit key, postings grouped by word key then row
    korder = np.argsort(keys, kind="stable")
    word_rank = np.empty(keys.shape[0], np.int64)
    word_rank[korder] = np.arange(keys.shape[0])
    wr = word_rank[pw]
    porder = np.lexsort((pd, wr))
    post = pd[porder].astype(np.int32)
    post_ptr = np.zeros(keys.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(wr, minlength=keys.shape[0]), out=post_ptr[1:])
    # blobs
    fp_sorted = [fps[i] for i in perm.tolist()]
    del fps
    fp_off = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter((len(b) for b in fp_sorted), np.int64, count=n), out=fp_off[1:])
    fp_blob = np.frombuffer(b"".join(fp_sorted), dtype=np.uint8)
    del fp_sorted
    id_sorted = [ids[i] for i in perm.tolist()]
    id_off = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter((len(b) for b in id_sorted), np.int64, count=n), out=id_off[1:])
    id_blob = np.frombuffer(b"".join(id_sorted), dtype=np.uint8)
    id_keys = np.fromiter((_id_key(b.decode()) for b in id_sorted), dtype=np.uint64, count=n)
    del id_sorted, ids
    id_order = np.argsort(id_keys, kind="stable")
    return {
        "fp_blob": fp_blob, "fp_off": fp_off, "fp_len": length[perm],
        "id_blob": id_blob, "id_off": id_off,
        "id_hash": id_keys[id_order], "id_row": id_order.astype(np.int32),
        "word_key": keys[korder], "word_df": df[korder],
        "post_ptr": post_ptr, "post": post, "pref_w": pref_w,
        "bag_ptr": bag_ptr, "bag": bag,
    }
