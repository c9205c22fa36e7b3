"""`dogbreed-desktop predict` against a bare torch script, in one run, on the same real photos.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_predict.py [N] [--repeat R]

Prints one table:
- folder throughput, whole process with start-up: the bare script (PIL decode, resize, crop, one batched
  EfficientNet-Lite0 forward in torch, channels_last), `predict --json` with each built-in model (ONNX Runtime),
  and `predict --json` with the fast model on the torch engine (`DOGBREED_ENGINE=torch`, the path before);
- cold start: process start to the first JSON line of `predict --json one.jpg`, beside the bare script's whole
  run on that one photo;
- single-photo latency after warm-up (in-process `Classifier.predict([photo])`, median of 50): decode to verdict.
Targets (issue 17): fast >= 1.5x the bare script's images/s, accurate >= 0.6x; latency <= 20 ms (fast) and
<= 60 ms (accurate). The default model (issue 29): the most accurate built-in model at <= 30 ms a photo and
>= 1.5x the bare script's images/s (balanced). A cold `predict one.jpg` in at most 0.2x the time of the bare
script's cold run of one photo.
Each figure is the median of --repeat runs; runs alternate between commands so machine noise hits all alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from stamp import add_write_option, recording

HERE = Path(__file__).resolve().parent
PY = sys.executable


def timed(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def first_line(cmd: list[str]) -> float:
    """Seconds from process start to its first line on stdout (the first verdict)."""
    t = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as p:
        p.stdout.readline()
        took = time.perf_counter() - t
        p.communicate()
    return took


def latency_ms(model: str, photos: list[Path], n: int = 50) -> float:
    """Median decode-to-verdict time of one photo per call, after a warm-up, in this process."""
    from dogbreed_desktop.core.predict.classifier import Classifier

    clf = Classifier.load(model, device="cpu")
    for p in photos[:5]:
        clf.predict([p])
    times = []
    for p in (photos * (n // len(photos) + 1))[:n]:
        t = time.perf_counter()
        clf.predict([p])
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", nargs="?", type=int, default=1000, help="photos in the folder run (default 1000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; medians are printed")
    add_write_option(ap, "bench_predict")
    args = ap.parse_args()
    with recording(args.write):
        data = os.environ.get("DOGBREED_DATA")
        if not data:
            sys.exit("set DOGBREED_DATA to the dog-breed-identification folder")
        photos = sorted((Path(data) / "train").glob("*.jpg"))[: args.n]
        paths = [str(p) for p in photos]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(paths))
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as one:
            one.write(paths[0])
        predict = [PY, "-m", "dogbreed_desktop", "predict", "--json"]
        torch_env = {**os.environ, "DOGBREED_ENGINE": "torch"}
        folder = {
            "bare torch script (decode+resize+crop+Lite0, channels_last)": ([PY, str(HERE / "bare_lite0.py"), f.name], None),
            "predict --json, fast (ONNX Runtime)": (predict + ["--model", "fast", *paths], None),
            "predict --json, balanced, the default (ONNX Runtime)": (predict + ["--model", "balanced", *paths], None),
            "predict --json, accurate (ONNX Runtime)": (predict + ["--model", "accurate", *paths], None),
            "predict --json, fast on torch (DOGBREED_ENGINE=torch)": (predict + ["--model", "fast", *paths], torch_env),
        }
        timed([PY, str(HERE / "bare_lite0.py"), one.name])  # warm the file cache and the imports
        timed(predict + [paths[0]])
        times: dict[str, list[float]] = {k: [] for k in folder}
        cold = {"bare torch script, one photo (whole process)": [], "predict --json one.jpg, to its first line": []}
        for _ in range(args.repeat):
            for name, (cmd, env) in folder.items():
                times[name].append(timed(cmd, env))
            cold["bare torch script, one photo (whole process)"].append(timed([PY, str(HERE / "bare_lite0.py"), one.name]))
            cold["predict --json one.jpg, to its first line"].append(first_line(predict + [paths[0]]))
        lat = {m: latency_ms(m, photos[:20]) for m in ("fast", "balanced", "accurate")}

        print(f"{len(paths)} photos (224x224 JPEGs), {os.cpu_count()} cores, median of {args.repeat} run(s) each")
        print()
        print("| run | images/s | vs bare |")
        print("|---|---|---|")
        bare = len(paths) / statistics.median(times[next(iter(folder))])
        for name, ts in times.items():
            ips = len(paths) / statistics.median(ts)
            print(f"| {name} | {ips:.1f} | {ips / bare:.2f}x |")
        print()
        print("| cold start | seconds | vs bare |")
        print("|---|---|---|")
        bare_cold = statistics.median(cold["bare torch script, one photo (whole process)"])
        for name, ts in cold.items():
            print(f"| {name} | {statistics.median(ts):.2f} | {statistics.median(ts) / bare_cold:.2f}x |")
        print()
        print("| single photo after warm-up (decode to verdict, median of 50) | ms |")
        print("|---|---|")
        for m, ms in lat.items():
            print(f"| {m} | {ms:.1f} |")


if __name__ == "__main__":
    main()
