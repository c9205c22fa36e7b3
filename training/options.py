"""`dogbreed-desktop train`'s options, made from TrainConfig's own table (torch-free: the Train tab builds a child
process's command line from them without importing the training code)."""

from __future__ import annotations

import argparse

from dogbreed_desktop.cli.common import positive_int

from .config import check, describe_default, settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`--out`, `--resume`, `--quiet`, and one option per TrainConfig field, made from its metadata."""
    p.description = ("Retrain by transfer learning. fast: frozen backbone, features cached on disk, head trained "
                     "in seconds per epoch. top: the backbone's last stage and the head trained on cached "
                     "activations, minutes on a CPU. finetune: end to end with augmentation (minutes on a GPU; on a "
                     "CPU about 11 minutes an epoch per 10,000 photos with Lite0: leave it in the background). Ctrl-C "
                     "stops at the next batch and keeps the best model; --resume RUN goes on from the last epoch.")
    p.add_argument("--out", help="run folder to create (default: a new folder in the app's runs folder)")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint (with --epochs: to N)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only epoch lines")
    p.add_argument("--progress", default="bar", choices=("bar", "json"),
                   help="bar: tqdm bars and epoch lines (default); json: one JSON object per line on stdout for "
                        "other programs (schema in training/jsonlines.py and the docs), `stop` on stdin stops")
    p.add_argument("--checks", metavar="FILE",
                   help="per-file checks of an earlier preflight of the same folder (the JSON the Train tab "
                        "writes): files unchanged since are not read again")
    p.add_argument("--gpus", type=positive_int, default=1,
                   help="train on N GPUs of this machine with DistributedDataParallel (starts torchrun; with "
                        "--device cpu, N CPU processes)")
    for name, f in settings().items():
        default = describe_default(f)
        options = {"default": None, "help": f.metadata["help"] + (f" (default: {default})" if default else "")}
        if f.type == "bool":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _parser(f)
        if f.metadata["choices"]:
            options["choices"] = list(f.metadata["choices"])
        p.add_argument("--" + name.replace("_", "-"), **options)


def _parser(f):
    """Text -> the field's type, refused with the same message the config would give."""
    kind = int if "int" in f.type else float if "float" in f.type else str

    def parse(text: str):
        value = kind(text)
        problem = check(f, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


def config_values(args) -> dict:
    """The TrainConfig settings given on the command line (unset ones are left to the defaults)."""
    return {name: getattr(args, name) for name in settings() if getattr(args, name, None) is not None}


def options_for(values: dict) -> list[str]:
    """The `train` options that give these TrainConfig settings (the inverse of `config_values`), for a caller
    that runs training as a child process; None values and names that are not settings are left out."""
    fields, argv = settings(), []
    for name, value in values.items():
        if value is None or name not in fields:
            continue
        option = name.replace("_", "-")
        if fields[name].type == "bool":
            argv.append(f"--{option}" if value else f"--no-{option}")
        else:
            argv += [f"--{option}", str(value)]
    return argv
