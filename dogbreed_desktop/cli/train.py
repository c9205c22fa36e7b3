"""`dogbreed-desktop train`: the headless training command lives with training; this module registers it."""

from __future__ import annotations

HELP = "retrain by transfer learning (headless)"


def add_arguments(tr) -> None:
    from training.cli import add_arguments as add

    add(tr)


def run(args) -> int:
    from training.cli import run_train

    return run_train(args)
