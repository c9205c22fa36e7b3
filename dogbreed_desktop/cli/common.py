"""Helpers every subcommand shares: exit codes, argument types, error output, a tqdm-backed Control."""

from __future__ import annotations

import argparse
import sys

from ..core.control import Control  # threading only: cheap enough for `--help`

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_SOME_FAILED = EXIT_FAILED  # predict/evaluate: some photos could not be read


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"dogbreed-desktop: error: {message}", file=sys.stderr)
    return code


def load_classifier(model: str | None, device: str):
    """The classifier for `--model`, or exit 2 with one line saying why it cannot be loaded."""
    from ..core.classifier import Classifier
    from ..core.errors import UserError

    try:
        return Classifier.load(model, device=device)
    except UserError as e:
        raise SystemExit(fail(f"cannot load model: {e}"))


def progress(total: int, enabled: bool) -> "TqdmControl":
    """A Control that draws a tqdm bar on stderr (only on a terminal)."""
    return TqdmControl(enabled, total)


class TqdmControl(Control):
    """One tqdm bar on stderr per phase (the `message` of progress: checking images, extracting features,
    training...), with rate and ETA. `write` prints a line above the bar."""

    def __init__(self, enabled: bool = True, total: int | None = None):
        super().__init__()
        self.enabled, self.bar, self.phase = enabled, None, None
        if total is not None:
            self._new_bar(total, "")

    def _new_bar(self, total: int, message: str) -> None:
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(total=total, desc=message or None, unit="batch" if message == "training" else "img",
                        disable=not self.enabled, file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.2)
        self.phase = message

    def progress(self, done, total, message=""):
        if self.bar is None or message != self.phase or self.bar.total != total:
            self._new_bar(total, message)
        self.bar.update(done - self.bar.n)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.clear()
        print(line, flush=True)
        if self.bar is not None:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
