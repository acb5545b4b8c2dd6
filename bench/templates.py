"""Template matching at scale: candidate index + re-rank vs. brute force, side by side (run by hand).

    python bench/templates.py [--sizes 10000,100000,1000000] [--per-kind 250] [--brute-per-kind 40]

Builds corpora of generated templates (seed sentences recombined, with word substitutions, so that
boilerplate sentences are shared by many templates), queries exact copies, variants of each kind in
corpora/eval/template_variants.jsonl and the unrelated personal messages of corpora/eval/messages.jsonl,
and prints for the candidate index (textsvc/candidates.py, top-k re-ranked with ``fuzz.ratio``) and
for brute-force ``process.extractOne(..., scorer=fuzz.ratio)``: p50/p99 latency per query on one core,
recall@1 on variants per kind (the top match at threshold 78 is the template the variant was made
from), false positives on unrelated messages, build and start-up time, RSS. Each method runs in a
fresh child process that starts from the saved index (as a restarted worker would), so RSS and
start-up are those of a service process. At 1M, brute force costs ~1 s per query: it runs on a
stratified sample (``--brute-per-kind``) plus all unrelated messages.

The generator (``generate``, ``make_variant``) is also used by tests/test_candidates.py.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import json
import multiprocessing as mp
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from textsvc.templates import _GREETING, _SIGN_OFF, PLACEHOLDER, fingerprint, strip_frame  # noqa: E402

CORPORA = ROOT / "corpora"
KINDS = ("exact", "fill", "name_swap", "typo", "greeting", "reorder", "added_clause", "combined")

# --- resources drawn from the seed corpus and the labelled variants -----------------------------

_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_WORDISH = re.compile(r"^[^\W\d_]{4,}$")

FIRST = {
    "de": ["Anna", "Thomas", "Julia", "Stefan", "Katrin", "Michael", "Sandra", "Jens", "Birgit", "Lukas", "Tanja", "Andreas", "Nina", "Matthias", "Claudia", "Sebastian", "Franziska", "Christian", "Lena", "Ralf", "Aylin", "Jan", "Dana", "Uwe", "Carina", "Martin", "Kerstin", "Frank", "Miriam", "Tom"],
    "en": ["James", "Emma", "Oliver", "Sophie", "Daniel", "Laura", "Michael", "Sarah", "David", "Hannah", "Chris", "Rachel", "Mark", "Emily", "Paul", "Olivia", "Tom", "Grace", "Peter", "Chloe", "Ryan", "Megan", "Adam", "Lucy", "Ben", "Amy", "Sam", "Kate", "Nick", "Jess"],
}
LAST = {
    "de": ["Berger", "Winter", "Richter", "Köhler", "Lorenz", "Pohl", "Engel", "Hoffmann", "Vogel", "Nowak", "Graf", "Baumann", "Maier", "Kühn", "Hartmann", "Neumeier", "Demir", "Petersen", "Becker", "Hempel", "Scholz", "Ulrich", "Wagner", "Schneider", "Seidel", "Fischer"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis", "Harris", "Martin", "Cooper"],
}
COMPANY = {
    "de": ["Weserland Bau GmbH", "Hansen & Partner", "Vogt Kunststofftechnik", "Seeblick Hotels",
           "Taunus Data AG", "Elbtal Energie GmbH", "Fischer Feinkost KG", "Alpenstern Software GmbH"],
    "en": ["Northwind Traders", "Bluebird Analytics Ltd", "Crescent Labs", "Harbour & Co",
           "Greenfield Logistics", "Summit Health Inc", "Riverside Media", "Oakline Capital"],
}
CITY = {"de": ["Hamburg", "Köln", "Leipzig", "Münster", "Dresden", "Stuttgart"],
        "en": ["London", "Manchester", "Leeds", "Bristol", "Dublin", "Boston"]}
VARIANT_GREETINGS = {
    "de": ["Hallo {f},", "Hi {f}!", "Guten Morgen {f} {l},", "Sehr geehrter Herr {l},", "Sehr geehrte Frau {l},",
           "Liebe {f},", "Moin {f},", "Guten Tag {f} {l},", "Hey {f},"],
    "en": ["Hi {f},", "Hello {f}!", "Dear {f} {l},", "Good morning {f},", "Hey {f},", "Dear Ms {l},",
           "Dear Mr {l},", "Hello {f} {l},"],
}
VARIANT_SIGN_OFFS = {
    "de": ["Viele Grüße und einen schönen Tag\n{f}", "Beste Grüße, {f} {l}", "Herzliche Grüße aus {c}\n{f}",
           "Mit freundlichen Grüßen\n{f} {l}", "Freundliche Grüße\n{f}", "LG {f}"],
    "en": ["Best regards,\n{f} {l}", "Cheers, {f}", "Kind regards\n{f}", "All the best,\n{f} {l}",
           "Many thanks\n{f}", "Warm regards from {c}\n{f}"],
}


@dataclass
class Resources:
    sentences: dict[str, list[str]]
    greetings: dict[str, list[str]]
    sign_offs: dict[str, list[str]]
    vocab: dict[str, list[str]]
    vocab_cum: dict[str, list[float]]
    clauses: dict[str, list[str]]
    unrelated: list[tuple[str, str]]  # (id, text)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _split(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s and s.strip()]


def load_resources() -> Resources:
    seeds = [row for p in sorted((CORPORA / "templates").glob("*.jsonl")) for row in _jsonl(p)]
    variants = _jsonl(CORPORA / "eval" / "template_variants.jsonl")
    messages = _jsonl(CORPORA / "eval" / "messages.jsonl")
    by_id = {s["id"]: s for s in seeds}
    sentences: dict[str, list[str]] = {"de": [], "en": []}
    greetings: dict[str, list[str]] = {"de": [], "en": []}
    sign_offs: dict[str, list[str]] = {"de": [], "en": []}
    counts: dict[str, Counter] = {"de": Counter(), "en": Counter()}
    for s in seeds:
        lang, text = s["language"], s["text"]
        m = _GREETING.match(text)
        if m:
            greetings[lang].append(m.group(0).strip())
        body = _GREETING.sub(" ", text, count=1)
        m = _SIGN_OFF.search(body)
        if m and m.start() >= 20:
            sign_offs[lang].append(body[m.start() + 1:].strip())
        for sent in _split(strip_frame(text)):
            if len(sent.split()) >= 3 and sent not in sentences[lang]:
                sentences[lang].append(sent)
        counts[lang].update(w for w in re.findall(r"\w+", text) if _WORDISH.match(w))
    for m in messages:
        text = m["marked"].replace("\u27e6", "").replace("\u27e7", "")
        counts[m["language"]].update(w for w in re.findall(r"\w+", text) if _WORDISH.match(w))
    clauses: dict[str, list[str]] = {"de": [], "en": []}
    for v in variants:
        if v["kind"] != "added_clause":
            continue
        known = {x.casefold() for x in _split(strip_frame(by_id[v["templateId"]]["text"]))}
        for sent in _split(strip_frame(v["text"])):
            if sent.casefold() not in known and len(sent.split()) >= 3 and sent not in clauses[v["language"]]:
                clauses[v["language"]].append(sent)
    vocab, vocab_cum = {}, {}
    for lang, c in counts.items():
        words = sorted(c)
        vocab[lang] = words
        vocab_cum[lang] = list(itertools.accumulate(c[w] ** 0.5 for w in words))  # flattened frequency
    unrelated = [(m["id"], m["marked"].replace("\u27e6", "").replace("\u27e7", ""))
                 for m in messages if m["label"] == "personal"]
    return Resources(sentences, greetings, sign_offs, vocab, vocab_cum, clauses, unrelated)


# --- the template generator ---------------------------------------------------------------------

def _zipf_cum(n: int, s: float, rng: random.Random) -> tuple[list[int], list[float]]:
    order = list(range(n))
    rng.shuffle(order)
    return order, list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))


def generate(n: int, seed: int = 1, res: Resources | None = None):
    """Yield ``n`` distinct generated templates as ``(id, language, text)``, deterministic per seed.

    A template is a seed greeting, 2–5 body sentences and a seed sign-off. Sentences are drawn from
    the seed sentences with Zipf-like popularity (the most popular few occur in a large share of all
    templates: boilerplate); the 40 most popular are mostly kept verbatim, the others get word
    substitutions (~15 % of their words, plus sometimes an inserted word) from the corpus vocabulary.
    The first ``n`` of a larger corpus are the corpus of size ``n``.
    """
    res = res or load_resources()
    rng = random.Random(seed)
    pop = {lang: _zipf_cum(len(res.sentences[lang]), 0.9, rng) for lang in ("de", "en")}
    hot = {lang: set(pop[lang][0][:40]) for lang in ("de", "en")}
    seen: set[str] = set()
    made = 0
    while made < n:
        lang = "de" if rng.random() < 0.65 else "en"
        order, cum = pop[lang]
        k = rng.choices((2, 3, 4, 5), (20, 35, 30, 15))[0]
        picked: list[int] = []
        while len(picked) < k:
            i = order[bisect.bisect_left(cum, rng.random() * cum[-1])]
            if i not in picked:
                picked.append(i)
        body = []
        for i in picked:
            sent = res.sentences[lang][i]
            if i not in hot[lang] or rng.random() < 0.2:
                sent = _substitute(sent, lang, rng, res)
            body.append(sent)
        text = f"{rng.choice(res.greetings[lang])}\n\n{' '.join(body)}\n\n{rng.choice(res.sign_offs[lang])}"
        fp = fingerprint(text)
        if fp in seen or fp.count(" ") < 8:
            continue
        seen.add(fp)
        made += 1
        yield "tpl_" + hashlib.sha1(fp.encode()).hexdigest()[:12], lang, text


def _vocab_word(lang: str, rng: random.Random, res: Resources) -> str:
    cum = res.vocab_cum[lang]
    return res.vocab[lang][bisect.bisect_left(cum, rng.random() * cum[-1])]


def _substitute(sent: str, lang: str, rng: random.Random, res: Resources) -> str:
    toks = sent.split(" ")
    for j, tok in enumerate(toks):
        if len(tok) >= 4 and tok.isalpha() and rng.random() < 0.15:
            toks[j] = _vocab_word(lang, rng, res)
    if rng.random() < 0.4:
        toks.insert(rng.randrange(1, len(toks) + 1), _vocab_word(lang, rng, res))
    return " ".join(toks)


# --- variants (what senders do to a template) ---------------------------------------------------

def _frame(text: str) -> tuple[str, str, str]:
    """(greeting, body, sign-off) of a generated template."""
    greeting, rest = text.split("\n\n", 1)
    body, sign_off = rest.rsplit("\n\n", 1)
    return greeting, body, sign_off


def _fill(text: str, lang: str, rng: random.Random) -> str:
    f, l = rng.choice(FIRST[lang]), rng.choice(LAST[lang])

    def one(m: re.Match) -> str:
        field = m.group(0).casefold()
        if any(x in field for x in ("firma", "company")):
            return rng.choice(COMPANY[lang])
        if any(x in field for x in ("stadt", "city")):
            return rng.choice(CITY[lang])
        if any(x in field for x in ("branche", "position", "link")):
            return rng.choice(res_words(lang))
        if any(x in field for x in ("nachname", "last")):
            return l
        return f

    return PLACEHOLDER.sub(one, text)


def res_words(lang: str) -> list[str]:
    return ["Logistik", "Vertrieb", "Einkauf", "Marketing"] if lang == "de" else ["logistics", "sales", "finance"]


def _typos(text: str, n: int, rng: random.Random) -> str:
    toks = text.split(" ")
    slots = [j for j, t in enumerate(toks) if len(t) >= 5 and t.isalpha()]
    for j in rng.sample(slots, min(n, len(slots))):
        w = toks[j]
        i = rng.randrange(1, len(w) - 2)
        op = rng.randrange(3)
        if op == 0:
            w = w[:i] + w[i + 1] + w[i] + w[i + 2:]  # swap
        elif op == 1:
            w = w[:i] + w[i + 1:]  # drop
        else:
            w = w[:i] + w[i] + w[i:]  # double
        toks[j] = w
    return " ".join(toks)


def _reorder(body: str, rng: random.Random) -> str:
    parts = _split(body)
    if len(parts) >= 2:
        i = rng.randrange(len(parts) - 1)
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
        if parts[0][:1].islower():
            parts[0] = parts[0][:1].upper() + parts[0][1:]
    return " ".join(parts)


def _new_frame(lang: str, rng: random.Random) -> tuple[str, str]:
    f, l, c = rng.choice(FIRST[lang]), rng.choice(LAST[lang]), rng.choice(CITY[lang])
    sf, sl = rng.choice(FIRST[lang]), rng.choice(LAST[lang])
    return (rng.choice(VARIANT_GREETINGS[lang]).format(f=f, l=l),
            rng.choice(VARIANT_SIGN_OFFS[lang]).format(f=sf, l=sl, c=c))


def _clause(body: str, lang: str, rng: random.Random, res: Resources) -> str:
    """An added sentence of at most a third of the body's length, as in the labelled variants
    (there a variant with an added clause still scores ≥ 80 against its template)."""
    fits = [c for c in res.clauses[lang] if len(c) <= len(body) / 3]
    return rng.choice(fits) if fits else min(res.clauses[lang], key=len)


def make_variant(text: str, lang: str, kind: str, rng: random.Random, res: Resources) -> str:
    """A variant of a generated template like those in corpora/eval/template_variants.jsonl."""
    greeting, body, sign_off = _frame(text)
    if kind == "exact":
        pass
    elif kind in ("fill", "name_swap"):
        greeting, body, sign_off = (_fill(x, lang, rng) for x in (greeting, body, sign_off))
        if kind == "name_swap" and not PLACEHOLDER.search(text):
            greeting = _new_frame(lang, rng)[0]
    elif kind == "typo":
        body = _typos(body, 2, rng)
    elif kind == "greeting":
        greeting, sign_off = _new_frame(lang, rng)
        body = _fill(body, lang, rng)
    elif kind == "reorder":
        body = _reorder(body, rng)
    elif kind == "added_clause":
        clause = _clause(body, lang, rng, res)
        body = f"{clause} {body}" if rng.random() < 0.5 else f"{body} {clause}"
    elif kind == "combined":
        greeting, sign_off = _new_frame(lang, rng)
        body = _fill(body, lang, rng)
        body = _reorder(_typos(body, rng.choice((1, 2)), rng), rng)
        body = f"{body} {_clause(body, lang, rng, res)}"
    else:
        raise ValueError(kind)
    return f"{greeting}\n\n{body}\n\n{sign_off}"


# --- the benchmark ------------------------------------------------------------------------------

MIN_WORDS = 6  # corpora/policy.toml [templates] min_words: shorter fingerprints never match
THRESHOLD = 78.0  # [templates] min_similarity


def fast_search(index, fp: str, *, min_similarity: float = THRESHOLD, k: int = 30):
    """The proposed ``TemplateIndex.search`` path: candidates, then the exact ``fuzz.ratio`` re-rank.

    Returns ``(id, similarity)`` of the best template with similarity ≥ ``min_similarity``, or None.
    """
    from rapidfuzz import fuzz, process

    if fp.count(" ") + 1 < MIN_WORDS:
        return None
    found = index.candidates(fp, k, min_similarity)
    if not found:
        return None
    best = process.extractOne(fp, dict(found), scorer=fuzz.ratio, processor=None, score_cutoff=min_similarity)
    return None if best is None else (best[2], best[1])


def brute_search(choices: dict[str, str], fp: str, *, min_similarity: float = THRESHOLD):
    """Today's ``TemplateIndex.search`` reduced to the best match: ``extractOne`` over every template."""
    from rapidfuzz import fuzz, process

    if fp.count(" ") + 1 < MIN_WORDS:
        return None
    best = process.extractOne(fp, choices, scorer=fuzz.ratio, processor=None, score_cutoff=min_similarity)
    return None if best is None else (best[2], best[1])


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    """Peak RSS of this process image (VmHWM; ru_maxrss would include the parent's before exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _read_corpus(path: Path):
    with path.open(encoding="utf-8") as f:
        for line in f:
            tid, fp = line.rstrip("\n").split("\t", 1)
            yield tid, fp


def _child_build(corpus: str, out: str, options: dict) -> dict:
    from textsvc.candidates import CandidateIndex

    items = list(_read_corpus(Path(corpus)))
    base = _rss_mb()
    t = time.perf_counter()
    index = CandidateIndex.build(items, **options)
    build = time.perf_counter() - t
    t = time.perf_counter()
    index.save(out)
    return {"build_s": build, "save_s": time.perf_counter() - t, "peak_mb": _peak_mb(), "items_mb": base}


def _run_queries(search, queries: list[dict]) -> tuple[list, list[float], list[float]]:
    results, cpu, wall = [], [], []
    for q in queries[:20]:  # warm-up (imports, caches, first page faults)
        search(q["fp"])
    for q in queries:
        w0, c0 = time.perf_counter(), time.thread_time()
        best = search(q["fp"])
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
        results.append(best)
    return results, cpu, wall


def _child_fast(index_dir: str, queries_path: str, options: dict, k: int) -> dict:
    base = _rss_mb()
    t = time.perf_counter()
    from textsvc.candidates import CandidateIndex

    index = CandidateIndex.load(index_dir, **options)
    startup = time.perf_counter() - t
    queries = json.loads(Path(queries_path).read_text(encoding="utf-8"))
    results, cpu, wall = _run_queries(lambda fp: fast_search(index, fp, k=k), queries)
    return {"startup_s": startup, "rss_mb": _rss_mb(), "base_mb": base, "results": results, "cpu": cpu, "wall": wall}


def _child_brute(corpus: str, queries_path: str) -> dict:
    base = _rss_mb()
    t = time.perf_counter()
    choices = dict(_read_corpus(Path(corpus)))  # what Store.iter_fingerprints() hands the index
    startup = time.perf_counter() - t
    queries = json.loads(Path(queries_path).read_text(encoding="utf-8"))
    results, cpu, wall = _run_queries(lambda fp: brute_search(choices, fp), queries)
    return {"startup_s": startup, "rss_mb": _rss_mb(), "base_mb": base, "results": results, "cpu": cpu, "wall": wall}


def _in_child(fn, *args):
    """Run ``fn`` in a fresh interpreter (spawn): its RSS and start-up are a new worker's."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def make_queries(corpus: list[tuple[str, str, str]], per_kind: int, seed: int, res: Resources) -> list[dict]:
    """``per_kind`` variants of each kind of random templates of ``corpus``, plus the unrelated messages.

    A variant is drawn again (up to 5 times) while it scores below 80 against its own template, as
    in corpora/eval/template_variants.jsonl: a short template with a long added clause and two typos
    is no longer a variant of it for brute force either.
    """
    from rapidfuzz import fuzz

    rng = random.Random(seed)
    out = []
    for kind in KINDS:
        for i in rng.sample(range(len(corpus)), min(per_kind, len(corpus))):
            tid, lang, text = corpus[i]
            source = fingerprint(text)
            for _ in range(5):  # like the labelled variants, which all score >= 80 against their template
                fp = fingerprint(make_variant(text, lang, kind, rng, res))
                if fuzz.ratio(fp, source) >= 80:
                    break
            out.append({"kind": kind, "source": tid, "fp": fp})
    for mid, text in res.unrelated:
        out.append({"kind": "unrelated", "source": None, "fp": fingerprint(text), "id": mid})
    return out


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")


def _score(queries: list[dict], results: list, source_fp: dict[str, str]) -> dict:
    """Recall@1 per kind (the best match is the source template, or ties with it) and false positives."""
    from rapidfuzz import fuzz

    hits: Counter = Counter()
    total: Counter = Counter()
    fp_count = unrelated = 0
    for q, r in zip(queries, results):
        if q["kind"] == "unrelated":
            unrelated += 1
            fp_count += r is not None
            continue
        total[q["kind"]] += 1
        if r is not None and (r[0] == q["source"] or r[1] >= fuzz.ratio(q["fp"], source_fp[q["source"]])):
            hits[q["kind"]] += 1
    variants = [k for k in KINDS if k != "exact"]
    out = {k: hits[k] / total[k] for k in KINDS if total[k]}
    n_var = sum(total[k] for k in variants)
    out["variants"] = sum(hits[k] for k in variants) / n_var if n_var else float("nan")
    out["fp"] = fp_count
    out["unrelated"] = unrelated
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="corpus sizes, comma-separated")
    ap.add_argument("--per-kind", type=int, default=250, help="queries per variant kind (fast path)")
    ap.add_argument("--brute-per-kind", type=int, default=25,
                    help="queries per kind for brute force above --brute-all-up-to templates")
    ap.add_argument("--brute-all-up-to", type=int, default=100_000,
                    help="up to this corpus size brute force runs every query")
    ap.add_argument("--k", type=int, default=30, help="candidates re-ranked per query")
    ap.add_argument("--probe", type=int, default=None)
    ap.add_argument("--shortlist", type=int, default=None)
    ap.add_argument("--prefix", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", default=None, help="keep corpora and indexes here (default: a temp dir)")
    ap.add_argument("--no-brute", action="store_true")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    options = {k: v for k in ("probe", "shortlist", "prefix") if (v := getattr(args, k)) is not None}
    load_options = {k: v for k, v in options.items() if k != "prefix"}
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-templates-"))
    work.mkdir(parents=True, exist_ok=True)
    res = load_resources()

    t = time.perf_counter()
    corpus = list(generate(sizes[-1], args.seed, res))
    fps = {tid: fingerprint(text) for tid, _, text in corpus}
    print(f"generated {len(corpus):,} templates in {time.perf_counter() - t:.0f} s "
          f"(median fingerprint {sorted(map(len, fps.values()))[len(fps) // 2]} chars); work dir {work}",
          flush=True)
    rows = []
    for n in sizes:
        sub = corpus[:n]
        corpus_path = work / f"corpus-{n}.tsv"
        with corpus_path.open("w", encoding="utf-8") as f:
            for tid, _, _ in sub:
                f.write(f"{tid}\t{fps[tid]}\n")
        queries = make_queries(sub, args.per_kind, args.seed + n, res)
        queries_path = work / f"queries-{n}.json"
        queries_path.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
        index_dir = work / f"index-{n}"
        shutil.rmtree(index_dir, ignore_errors=True)
        built = _in_child(_child_build, str(corpus_path), str(index_dir), options)
        disk_mb = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 2**20
        fast = _in_child(_child_fast, str(index_dir), str(queries_path), load_options, args.k)
        fast_score = _score(queries, fast["results"], fps)
        print(f"  {n:>9,} fast   done: p50 {_pct(fast['cpu'], .5):.2f} ms, recall {fast_score['variants']:.4f}",
              flush=True)
        rows.append((n, "candidates", built, fast, fast_score, disk_mb, None))
        if args.no_brute:
            continue
        if n <= args.brute_all_up_to:
            sample = list(range(len(queries)))
        else:
            rng = random.Random(args.seed)
            by_kind: dict[str, list[int]] = {}
            for j, q in enumerate(queries):
                by_kind.setdefault(q["kind"], []).append(j)
            sample = sorted(j for kind, js in by_kind.items()
                            for j in (js if kind == "unrelated" else rng.sample(js, min(args.brute_per_kind, len(js)))))
        bq = [queries[j] for j in sample]
        bq_path = work / f"queries-{n}-brute.json"
        bq_path.write_text(json.dumps(bq, ensure_ascii=False), encoding="utf-8")
        brute = _in_child(_child_brute, str(corpus_path), str(bq_path))
        brute_score = _score(bq, brute["results"], fps)
        fast_on_sample = [fast["results"][j] for j in sample]
        agree = sum((a is None and b is None) or (a is not None and b is not None and a[1] == b[1])
                    for a, b in zip(fast_on_sample, brute["results"])) / len(sample)
        print(f"  {n:>9,} brute  done: p50 {_pct(brute['cpu'], .5):.0f} ms; fast agrees on {agree:.4f} "
              f"of {len(sample)} queries", flush=True)
        rows.append((n, "brute force", None, brute, brute_score, None, agree))
    _print_tables(rows)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


def _print_tables(rows) -> None:
    def cell(v, f):
        return "–" if v is None else format(v, f)

    print()
    print("| templates | method | queries | p50 ms | p99 ms | p99 wall ms | recall@1 variants | combined "
          "| FP unrelated | build s | start-up s | RSS MB | index MB | same best as brute |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, method, built, run, score, disk_mb, agree in rows:
        print(f"| {n:,} | {method} | {len(run['cpu'])} | {_pct(run['cpu'], .5):.2f} | {_pct(run['cpu'], .99):.2f} "
              f"| {_pct(run['wall'], .99):.2f} | {score['variants']:.4f} | {score.get('combined', float('nan')):.4f} "
              f"| {score['fp']}/{score['unrelated']} | {cell(built and built['build_s'], '.1f')} "
              f"| {run['startup_s']:.2f} | {run['rss_mb']:.0f} | {cell(disk_mb, '.0f')} | {cell(agree, '.4f')} |")
    print()
    kinds = list(KINDS)
    print("| templates | method | " + " | ".join(kinds) + " |")
    print("|---:|---|" + "---:|" * len(kinds))
    for n, method, _, _, score, _, _ in rows:
        print(f"| {n:,} | {method} | " + " | ".join(cell(score.get(k), ".3f") for k in kinds) + " |")
    print()
    peaks = ", ".join(f"{r[0]:,}: {r[2]['peak_mb']:.0f} MB" for r in rows if r[2])
    print("p50/p99: CPU time of one query on one core (thread_time), fingerprint given; p99 wall: elapsed. "
          f"Build: the candidate index from (id, fingerprint) pairs (peak RSS of the build process {peaks}). "
          "Start-up: load the saved index (candidates) / read the fingerprints into a dict (brute force). "
          "RSS: the query process after all its queries. Recall@1: the best match at threshold 78 is the "
          "template the variant was made from (or ties with it). Same best as brute: share of the queries "
          "brute force ran on where both return the same similarity (or both nothing).")


if __name__ == "__main__":
    main()
