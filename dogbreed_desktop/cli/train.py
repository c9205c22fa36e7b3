"""`dogbreed-desktop train`: the headless training command lives with training; this module registers it."""

from __future__ import annotations

HELP = "retrain by transfer learning (headless)"


def add_arguments(tr) -> None:
    from training.options import add_arguments as add

    add(tr)


def run(args) -> int:
    from training.cli import run_train

    from ..core.flavour import TRAINING, has_torch
    from .common import fail

    if not has_torch():  # the classify-only build: the same sentence as its Train tab, exit status 2
        return fail(TRAINING)

    return run_train(args)
