"""What every part of the app's smoke test shares (scripts/smoke-test-app.py): the check list, a clean
environment, cold launches, timed runs and pictures made without Pillow. Standard library only."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "Dog Breed Studio"
FAILURES: list[str] = []


def check(ok: bool, what: str) -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a double-click gets: no Python, no venv, no PYTHON* variables; a fresh home."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def evict(folder: Path) -> None:
    """Drop the folder's files from the page cache (no root needed), so the next launch reads them from disk.
    Linux only (macOS and Windows have no posix_fadvise: their launches are timed warm)."""
    if not hasattr(os, "posix_fadvise"):
        return
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
            finally:
                os.close(fd)


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def children_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], env: dict, timeout: float = 600) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc, time.perf_counter() - start


def write_ppm(path: Path, rgb: tuple[int, int, int], size: int = 96, seed: int = 0) -> Path:
    """A picture without Pillow: a coloured square with a lighter band and some pixel noise."""
    import random

    r = random.Random(seed)
    pixels = bytearray()
    for y in range(size):
        for x in range(size):
            band = 60 if (x + y) % 32 < 12 else 0
            pixels += bytes(max(0, min(255, c + band + r.randint(-25, 25))) for c in rgb)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"P6 %d %d 255\n" % (size, size) + bytes(pixels))
    return path


def pick_photos(data: Path | None, tmp: Path) -> list[tuple[Path, str | None]]:
    if data and (data / "labels.csv").is_file():
        with open(data / "labels.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        # Three photos spread over the file, always the same ones.
        picks = [rows[i] for i in (0, len(rows) // 2, len(rows) - 1)]
        return [(data / "train" / f"{r['id']}.jpg", r["breed"]) for r in picks]
    print("  (DOGBREED_DATA not set: a synthetic picture, the breed is not checked)")
    return [(write_ppm(tmp / "synthetic.ppm", (180, 140, 90)), None)]
