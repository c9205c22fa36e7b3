"""`dogbreed-desktop train`: headless retraining (filled by the training issue)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="labels.csv + train/, one folder per class, or train/ + test/")
    p.add_argument("--out", help="run folder to create")


def run_train(args) -> int:
    print("training is not implemented yet")
    return 2
