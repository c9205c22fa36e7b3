"""`dogbreed-desktop predict` over N real photos, whole process, against a bare script in the same run.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_predict.py [N]

Target (issue 2): predict's images/s >= 0.8x the bare script's.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    data = os.environ.get("DOGBREED_DATA")
    if not data:
        sys.exit("set DOGBREED_DATA to the dog-breed-identification folder")
    paths = sorted(str(p) for p in (Path(data) / "train").glob("*.jpg"))[:n]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths))
    here = Path(__file__).resolve().parent
    py = sys.executable
    runs = {
        "bare script (decode+resize+crop+Lite0, channels_last)": [py, str(here / "bare_lite0.py"), f.name],
        "dogbreed-desktop predict --json": [py, "-m", "dogbreed_desktop", "predict", "--json", *paths],
    }
    timed(runs["bare script (decode+resize+crop+Lite0, channels_last)"][:2] + [f.name])  # warm the file cache
    rows = [(name, len(paths) / timed(cmd)) for name, cmd in runs.items()]
    bare = rows[0][1]
    print(f"{len(paths)} photos, whole process incl. start-up, {os.cpu_count()} cores, torch threads default")
    print(f"{'run':<55} {'images/s':>9} {'vs bare':>8}")
    for name, ips in rows:
        print(f"{name:<55} {ips:9.1f} {ips / bare:7.2f}x")


if __name__ == "__main__":
    main()
