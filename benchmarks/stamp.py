"""The stamp on every table a benchmark writes: the commit it measured, the CPU it ran on, the date (UTC).

A benchmark takes `--write [FILE]` (`add_write_option`) and prints inside `recording(args.write)`: what it prints
goes to the terminal as before and, with `--write`, also to FILE (default `benchmarks/results/<name>.md`) under
one stamp line. The docs include those files (pymdownx.snippets), so rerunning a benchmark with `--write`
refreshes its page.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def commit() -> str:
    """The short hash of HEAD, marked `-dirty` when tracked files differ from it (the table is then not that
    commit's alone)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def cpu() -> str:
    """The CPU model (from /proc/cpuinfo on Linux) and how many cores this process may use."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def stamp() -> str:
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Measured at commit `{commit()}` on {cpu()}, {date}."


def add_write_option(parser, name: str) -> None:
    default = RESULTS / f"{name}.md"
    parser.add_argument("--write", nargs="?", const=str(default), metavar="FILE",
                        help=f"also write the tables, stamped with commit, CPU and date, to FILE "
                        f"(default {default.relative_to(RESULTS.parent.parent)})")


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()


@contextlib.contextmanager
def recording(path: str | None):
    """Print as usual; with a `path`, also write what was printed there, under the stamp, when the block ends
    without an error (a failed run leaves the earlier file as it was)."""
    if not path:
        yield
        return
    captured = io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, captured)):
        yield
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{stamp()}\n\n{captured.getvalue().strip()}\n", "utf-8")
    print(f"written: {out}", file=sys.stderr)
