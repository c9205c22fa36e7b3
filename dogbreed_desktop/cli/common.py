"""Helpers every subcommand shares: exit codes, argument types, error output, a tqdm-backed Control."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


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
    from ..core.artifact import ArtifactError
    from ..core.backbones import BackboneUnavailable
    from ..core.classifier import Classifier

    try:
        return Classifier.load(model, device=device)
    except (ArtifactError, BackboneUnavailable, RuntimeError) as e:
        raise SystemExit(fail(f"cannot load model: {e}"))


def progress(total: int, enabled: bool):
    """A Control that draws a tqdm bar on stderr (only on a terminal)."""
    from tqdm import tqdm

    from ..core.control import Control

    class TqdmControl(Control):
        def __init__(self):
            super().__init__()
            self.bar = tqdm(total=total, unit="img", disable=not enabled, file=sys.stderr, leave=False)

        def progress(self, done, total, message=""):
            self.bar.update(done - self.bar.n)

    return TqdmControl()
