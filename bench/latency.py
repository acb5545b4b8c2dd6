"""Latency, throughput and memory of the analysis, in-process (run by hand; numbers go in notes).

    python bench/latency.py [--n 2000] [--templates 100000]

Prints start-up time (pipelines, lexicons, seed corpus), p50/p90/p99 of the phrase matcher alone
and of a whole ``Analyzer.analyze`` on the evaluation messages, messages per second on one core,
and the process RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textsvc.schemas import AnalyzeRequest  # noqa: E402


def percentiles(samples: list[float]) -> str:
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return f"p50 {pick(0.5):.2f} ms  p90 {pick(0.9):.2f} ms  p99 {pick(0.99):.2f} ms  mean {statistics.mean(s) * 1000:.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="analyses to time")
    ap.add_argument("--templates", type=int, default=0,
                    help="grow the corpus to this many templates (generated as in bench/load.py) first")
    args = ap.parse_args()
    texts = [json.loads(x) for x in (ROOT / "corpora/eval/messages.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [(t["marked"].replace("\u27e6", "").replace("\u27e7", ""), t["language"]) for t in texts]

    t0 = time.perf_counter()
    from textsvc.engine import Analyzer
    from textsvc.settings import Settings
    from textsvc.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_path=Path(tmp) / "bench.db")
        if args.templates > 302:
            sys.path.insert(0, str(ROOT / "bench"))
            from load import generated_templates

            from textsvc.corpus import import_templates, parse_import

            body = "\n".join(json.dumps(t) for t in generated_templates(args.templates - 302)).encode()
            store = Store(settings.db_path)
            import_templates(store, parse_import(body, min_words=6))
            store.close()
        t1 = time.perf_counter()
        analyzer = Analyzer(settings, Store(settings.db_path))
        t2 = time.perf_counter()
        print(f"start-up: imports (and corpus generation) {t1 - t0:.2f} s, analyzer (pipelines, lexicons, seed, index) {t2 - t1:.2f} s; "
              f"{len(analyzer.index)} templates")
        print("first start builds and saves the candidate index; a restart loads it:")
        t3 = time.perf_counter()
        Analyzer(settings, Store(settings.db_path))
        print(f"restart: analyzer {time.perf_counter() - t3:.2f} s")
        for text, lang in texts[:50]:  # warm caches
            analyzer.analyze(AnalyzeRequest(text=text, language=lang))

        match_times, tokens = [], 0
        for i in range(args.n):
            text, lang = texts[i % len(texts)]
            doc = analyzer.pipelines[lang](text)
            tokens += len(doc)
            s = time.perf_counter()
            analyzer.checkers[lang].find(doc)
            match_times.append(time.perf_counter() - s)
        print(f"phrase matching ({args.n} messages, {tokens / args.n:.0f} tokens avg): {percentiles(match_times)}")

        times = []
        start = time.perf_counter()
        for i in range(args.n):
            text, lang = texts[i % len(texts)]
            s = time.perf_counter()
            analyzer.analyze(AnalyzeRequest(text=text, language="auto"))
            times.append(time.perf_counter() - s)
        wall = time.perf_counter() - start
        print(f"analyze, language auto ({args.n} requests): {percentiles(times)}; {args.n / wall:.0f} requests/s on one core")
        sys.path.insert(0, str(ROOT / "bench"))
        from load import MESSAGE

        times = []
        for _ in range(args.n):
            s = time.perf_counter()
            analyzer.analyze(AnalyzeRequest(text=MESSAGE, language="de"))
            times.append(time.perf_counter() - s)
        print(f"analyze, the {len(MESSAGE)}-character German message of bench/load.py: {percentiles(times)}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"max RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
