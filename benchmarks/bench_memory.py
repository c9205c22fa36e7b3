"""Peak memory of the app on ordinary and hostile inputs, each run as a user would run it: one
`dogbreed-desktop` process per case, its peak resident set size read from the kernel when it exits.

    DOGBREED_DATA=.../dog-breed-identification python benchmarks/bench_memory.py [--photos 500] [--per-class 5]

Cases: predict on 1 and on N real photos, on a 1x100000 strip, on a 9500x9500 PNG, and a fast training run
on a small per-class subset (features extracted afresh). The baseline is a process that only imports the
package and torch; the target is that no input makes the app grow more than 1.5 GB past it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from stamp import add_write_option, recording

TARGET_MB = 1536


def peak_rss_mb(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit code) of `cmd` run to completion."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        print(f"  ! {' '.join(cmd[3:6])}... exited {proc.returncode}: {err.strip()[-300:]}", file=sys.stderr)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, proc.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("DOGBREED_DATA"), help="dog-breed-identification folder")
    p.add_argument("--photos", type=int, default=500)
    p.add_argument("--per-class", type=int, default=5, help="training subset: images per breed")
    add_write_option(p, "bench_memory")
    args = p.parse_args()
    with recording(args.write):
        if not args.data:
            p.error("set DOGBREED_DATA or give --data")
        data = Path(args.data)
        photos = sorted((data / "train").glob("*.jpg"))[: args.photos]
        app = [sys.executable, "-m", "dogbreed_desktop"]
        with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
            tmp = Path(tmp)
            env = {**os.environ, "DOGBREED_HOME": str(tmp / "home"), "DOGBREED_OFFLINE": "1"}
            Image.new("RGB", (1, 100_000), (200, 100, 50)).save(tmp / "strip.png")
            Image.new("L", (9500, 9500), 90).save(tmp / "big.png")
            many = tmp / "many"
            many.mkdir()
            for photo in photos:
                os.symlink(photo, many / photo.name)
            cases = [
                ("baseline: import the app and torch", [sys.executable, "-c",
                                                        "import dogbreed_desktop.core.predict.classifier, training.loop"]),
                ("predict, 1 photo", [*app, "predict", str(photos[0])]),
                (f"predict, {len(photos)} photos", [*app, "predict", "--json", str(many)]),
                ("predict, 1x100000 PNG strip", [*app, "predict", str(tmp / "strip.png")]),
                ("predict, 9500x9500 PNG (90 MP)", [*app, "predict", str(tmp / "big.png")]),
                (f"train fast, {args.per_class} per class (120 classes)",
                 [*app, "train", "--data", str(data), "--out", str(tmp / "run"), "--mode", "fast", "--device", "cpu",
                  "--per-class", str(args.per_class), "--epochs", "5", "--cache-dir", str(tmp / "cache"), "--quiet"]),
            ]
            rows = []
            for name, cmd in cases:
                mb, seconds, code = peak_rss_mb(cmd, env)
                rows.append((name, mb, seconds, code))
                print(f"  {name}: {mb:.0f} MB in {seconds:.1f} s", file=sys.stderr, flush=True)
        base = rows[0][1]
        print(f"\n| case | peak RSS (MB) | over baseline (MB) | seconds | exit |\n|---|---|---|---|---|")
        for name, mb, seconds, code in rows:
            print(f"| {name} | {mb:.0f} | {mb - base:+.0f} | {seconds:.1f} | {code} |")
        worst = max(mb - base for _, mb, _, _ in rows[1:])
        verdict = "within" if worst <= TARGET_MB else "OVER"
        print(f"\nlargest growth past the baseline: {worst:.0f} MB ({verdict} the {TARGET_MB} MB target); "
              f"{os.cpu_count()} CPUs")
        return 0 if worst <= TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
