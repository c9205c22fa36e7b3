"""Web API throughput and latency against `Classifier.predict`, in one run, on the same real photos.

Starts `dogbreed-desktop serve` as its own process on 127.0.0.1 (a free port), then sends one photo per request
from 1, 4 and 16 concurrent clients, a bounded number of requests each, and prints a Markdown table:

    DOGBREED_DATA=/path/to/dog-breed-identification python benchmarks/bench_serve.py

The clients run in this process; on a 2-core machine they compete with the server for the CPU, as a local
photo manager calling the API would.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle, islice
from pathlib import Path

import httpx

import slow_clients
from dogbreed_desktop.core.predict.classifier import Classifier
from stamp import add_write_option, recording


def real_photos(root: Path, n: int) -> list[Path]:
    with open(root / "labels.csv", newline="") as f:
        ids = sorted(row["id"] for row in csv.DictReader(f))
    return [root / "train" / f"{i}.jpg" for i in ids[:n]]


def predict_rate(clf: Classifier, photos: list[Path], images: int, in_thread: bool = True) -> float:
    """Images/s of `Classifier.predict` (the `predict` command's path) over `images` photos, batch 32, called
    from a worker thread as the server calls the model (the main-thread figure is printed under the table)."""

    def timed() -> float:
        clf.predict(photos[:8])  # warm-up
        paths = list(islice(cycle(photos), images))
        start = time.perf_counter()
        results = clf.predict(paths, batch_size=32)
        elapsed = time.perf_counter() - start
        assert all(r.ok for r in results)
        return len(paths) / elapsed

    if not in_thread:
        return timed()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(timed).result()


def start_server(model: str | None) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "dogbreed_desktop", "serve", "--port", "0"] + (["--model", model] if model else [])
    # Its log (a line per 408 in the slow-client scenarios) would drown the tables.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    found = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
    if not found:
        proc.kill()
        raise SystemExit(f"serve did not start: {line!r}")
    return proc, found[1]


def load(url: str, bodies: list[bytes], clients: int, requests: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    jobs = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(base_url=url, timeout=120, limits=limits) as http:

        def client():
            while True:
                with lock:
                    i = next(jobs, None)
                if i is None:
                    return
                start = time.perf_counter()
                r = http.post("/v1/predict", files={"image": (f"{i}.jpg", bodies[i % len(bodies)], "image/jpeg")})
                r.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - start)

        http.post("/v1/predict", files={"image": ("w.jpg", bodies[0], "image/jpeg")}).raise_for_status()
        before = http.get("/health").json()
        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            for f in [pool.submit(client) for _ in range(clients)]:
                f.result()
        elapsed = time.perf_counter() - start
        health = http.get("/health").json()
    latencies.sort()
    return {"rate": requests / elapsed, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
            "per_call": (health["images"] - before["images"]) / (health["batches"] - before["batches"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"), help="dog-breed-identification folder")
    ap.add_argument("--photos", type=int, default=64, help="distinct photos, cycled")
    ap.add_argument("--requests", type=int, default=12, help="requests per client (at least 48 per level)")
    ap.add_argument("--model", help="model for both runs (default: built-in)")
    ap.add_argument("--scenarios", default="normal,slow,stalled", help="which of normal, slow, stalled to run")
    ap.add_argument("--slow-clients", type=int, default=150, help="clients uploading at 100 bytes/s")
    ap.add_argument("--stalled-clients", type=int, default=96, help="uploads that stop after 19 MB")
    add_write_option(ap, "bench_serve")
    args = ap.parse_args()
    with recording(args.write):
        if not args.data:
            raise SystemExit("set DOGBREED_DATA or pass --data")
        photos = real_photos(Path(args.data), args.photos)
        bodies = [p.read_bytes() for p in photos]
        levels = {c: max(48, args.requests * c) for c in (1, 4, 16)}

        scenarios = set(args.scenarios.split(","))
        print(f"{len(photos)} real photos, {os.cpu_count()} cores, one photo per request\n")
        if "normal" in scenarios:
            normal(args, photos, bodies, levels)
        if "slow" in scenarios:
            proc, url = start_server(args.model)
            try:
                r = asyncio.run(slow_clients.slow(url, bodies, clients=args.slow_clients))
            finally:
                proc.terminate()
                proc.wait(60)
            print(f"\n{r['slow']} slow clients (100 bytes/s each) and one normal client, for 20 s:\n")
            print("| normal uploads | 200 within 2 s | p50 | slowest | slow clients answered or closed | last one |")
            print("|---|---|---|---|---|---|")
            print(f"| {r['normal']} | {r['normal_ok_2s']} ({100 * r['normal_ok_2s'] / r['normal']:.0f} %) | "
                  f"{1000 * r['normal_p50']:.0f} ms | {1000 * r['normal_max']:.0f} ms | {fmt(r['slow_outcomes'])} | "
                  f"{r['slow_last_s']:.1f} s |")
        if "stalled" in scenarios:
            proc, url = start_server(args.model)
            try:
                r = asyncio.run(slow_clients.stalled(url, proc.pid, bodies, clients=args.stalled_clients))
            finally:
                proc.terminate()
                proc.wait(60)
            print(f"\n{r['clients']} uploads that stop after 19 MB, and one normal client for 20 s:\n")
            print("| server RSS before | peak | after | stalled uploads answered | longest stall before its answer | "
                  "all released | normal uploads | 200 within 2 s | p50 | slowest |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            print(f"| {r['baseline_mb']:.0f} MB | {r['peak_mb']:.0f} MB | {r['after_mb']:.0f} MB | {fmt(r['outcomes'])} | "
                  f"{r['longest_stall_s']:.1f} s | {r['all_released_s']:.1f} s | {r['normal']} | {r['normal_ok_2s']} "
                  f"({100 * r['normal_ok_2s'] / r['normal']:.0f} %) | {1000 * r['normal_p50']:.0f} ms | "
                  f"{1000 * r['normal_max']:.0f} ms |")


def fmt(outcomes: dict) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items()))


def normal(args, photos, bodies, levels) -> None:
    clf = Classifier.load(args.model)
    main_thread = predict_rate(clf, photos, 32, in_thread=False)
    proc, url = start_server(args.model)
    try:
        # `predict` on as many photos right before each level: on a shared machine the load drifts, and the
        # ratio compares two runs minutes apart as little as possible.
        rows = [(c, n, predict_rate(clf, photos, n), load(url, bodies, c, n)) for c, n in levels.items()]
    finally:
        proc.terminate()
        proc.wait(60)

    print("| clients | requests | `predict` images/s | API images/s | API / `predict` | p50 | p99 | "
          "images per model call |")
    print("|---|---|---|---|---|---|---|---|")
    for clients, n, base, r in rows:
        print(f"| {clients} | {n} | {base:.1f} | {r['rate']:.1f} | {r['rate'] / base:.2f}x | "
              f"{1000 * r['p50']:.0f} ms | {1000 * r['p99']:.0f} ms | {r['per_call']:.1f} |")
    print(f"\n`predict` called from the main thread instead (as the `predict` command calls it): {main_thread:.1f} "
          "images/s, once before the first level.")


if __name__ == "__main__":
    main()
