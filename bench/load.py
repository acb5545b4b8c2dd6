"""Throughput and latency over HTTP with 2 workers, side by side with a bare Litestar echo app.

    python bench/load.py [--templates 10000] [--seconds 20] [--connections 32]

Needs ``wrk`` (Debian package). Builds a database with N templates (the seed corpus plus
generated variants), starts ``textsvc serve --workers 2`` and the echo app under the same
uvicorn settings, loads each with wrk on loopback with a 300-character German message, and
prints requests/s, latency percentiles, the ratio to echo, start-up time and RSS per worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = ("Hallo Frau Berger, ich habe Ihren Vortrag auf der LogiMAT in Stuttgart zu fahrerlosen "
           "Transportsystemen gehört. Wir stellen im Herbst unser Lager in Kassel um und ich würde gern "
           "wissen, wie Sie die Schichtplanung gelöst haben. Hätten Sie nächste Woche 20 Minuten für ein kurzes "
           "Telefonat?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generated_templates(n: int) -> list[dict]:
    """Seed templates recombined sentence by sentence, with a few words swapped: n distinct texts."""
    seeds = [json.loads(x) for f in sorted((ROOT / "corpora/templates").glob("*.jsonl"))
             for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
    sentences = {lang: [s for t in seeds if t["language"] == lang for s in re.split(r"(?<=[.!?])\s+", t["text"])]
                 for lang in ("de", "en")}
    rng = random.Random(7)
    out = []
    for i in range(n):
        lang = "de" if i % 3 else "en"
        parts = rng.sample(sentences[lang], 3)
        out.append({"text": " ".join(parts) + f" Ref {i} {rng.choice(['Q', 'K', 'Z'])}{i * 7919 % 100003}.",
                    "language": lang})
    return out


def wait_ready(url: str, timeout: float = 120) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready")


def rss_of_children(pid: int) -> list[float]:
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss="], capture_output=True, text=True).stdout.split("\n")
    rows = [list(map(int, line.split())) for line in out if line.strip()]
    return [rss / 1024 for p, ppid, rss in rows if ppid == pid]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/<pid>/stat, clock ticks)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,ppid="], capture_output=True, text=True).stdout.split("\n")
    return [p for p, ppid in (map(int, line.split()) for line in out if line.strip()) if ppid == pid]


def wrk(url: str, body: str, seconds: int, connections: int) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.errors.status + '
        "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
        "latency:percentile(50), latency:percentile(90), latency:percentile(99), summary.duration))\nend\n"
    )
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True).stdout
    n, errors, p50, p90, p99, duration = map(int, re.search(r"RESULT (.*)", out).group(1).split())
    return {"rps": n / (duration / 1e6), "errors": errors, "p50": p50 / 1000, "p90": p90 / 1000, "p99": p99 / 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="textsvc-http-"))
    db = tmp / "bench.db"
    env = {**os.environ, "TEXTSVC_DB_PATH": str(db)}

    from textsvc.corpus import import_templates, parse_import
    from textsvc.store import Store

    extra = max(0, args.templates - 302)
    body = "\n".join(json.dumps(t) for t in generated_templates(extra)).encode()
    store = Store(db)
    t0 = time.perf_counter()
    import_templates(store, parse_import(body, min_words=6))
    t1 = time.perf_counter()
    # a first start builds and saves the candidate index; the servers below start like a restart
    from textsvc.engine import Analyzer
    from textsvc.settings import Settings

    Analyzer(Settings(db_path=db), store).save_index()
    store.close()
    print(f"corpus: {args.templates} templates (import {t1 - t0:.1f} s, first start {time.perf_counter() - t1:.1f} s)")

    results = {}
    for name, cmd, path, payload in [
        ("echo", [sys.executable, "-m", "uvicorn", "--factory", "bench.echo_app:create_app"], "/echo",
         json.dumps({"text": MESSAGE})),
        ("textsvc", [sys.executable, "-m", "uvicorn", "--factory", "textsvc.app:create_app"], "/v1/analyze",
         json.dumps({"text": MESSAGE, "language": "de"})),
    ]:
        port = free_port()
        started = time.monotonic()
        proc = subprocess.Popen([*cmd, "--port", str(port), "--workers", "2", "--log-level", "warning",
                                 "--no-access-log"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + ("/ready" if name == "textsvc" else "/docs"), 180) if name == "textsvc" else None
            if name == "echo":
                while True:
                    try:
                        httpx.post(base + path, json={"x": 1}, timeout=1)
                        break
                    except httpx.HTTPError:
                        time.sleep(0.05)
            startup = time.monotonic() - started
            wrk(base + path, payload, 3, args.connections)  # warm-up
            workers = children_of(proc.pid)
            cpu_before = cpu_seconds(workers)
            r = wrk(base + path, payload, args.seconds, args.connections)
            # CPU per request does not depend on what else runs on the machine, req/s does
            r["cpu_ms"] = (cpu_seconds(workers) - cpu_before) * 1000 / max(r["rps"] * args.seconds, 1)
            r["startup"] = startup
            r["rss"] = rss_of_children(proc.pid)
            results[name] = r
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{'':8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} {'CPU ms/req':>10} "
          f"{'start s':>8}  RSS MB of each child (2 workers + spawn tracker)")
    for name, r in results.items():
        print(f"{name:8} {r['rps']:8.0f} {r['p50']:8.2f} {r['p90']:8.2f} {r['p99']:8.2f} {r['errors']:7d} "
              f"{r['cpu_ms']:10.3f} {r['startup']:8.2f}  {', '.join(f'{x:.0f}' for x in r['rss'])}")
    print(f"textsvc / echo throughput: {results['textsvc']['rps'] / results['echo']['rps']:.1%} "
          f"(2 workers, {args.connections} connections, loopback, wrk)")


if __name__ == "__main__":
    main()
