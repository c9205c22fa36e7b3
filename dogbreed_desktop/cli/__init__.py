"""Command line: one module per subcommand; no subcommand (or image paths only) opens the window.

Each subcommand module has `HELP`, `add_arguments(parser)` and `run(args) -> exit code`; to add one, write the
module and name it in `COMMANDS`. Heavy imports (torch, Qt) happen inside `run`, so `--help` is instant and the
window can appear before torch loads.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..core.errors import UserError
from .common import EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_USAGE, MODEL_HELP, Parser, fail, setup_output

# Subcommand name -> module in this package.
COMMANDS = {
    "predict": "predict",
    "evaluate": "evaluate",
    "train": "train",
    "export": "export",
    "serve": "serve",
}
SUBCOMMANDS = tuple(COMMANDS)


def _gui_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="dogbreed-desktop",
        description="Dog Breed Studio. With no subcommand, opens the window (with any image paths given). "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (see `dogbreed-desktop SUBCOMMAND --help`).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("images", nargs="*", help="photos or folders to classify on start")
    return p


def _command(name: str):
    return importlib.import_module(f".{COMMANDS[name]}", __name__)


def _sub_parser(name: str) -> argparse.ArgumentParser:
    p = Parser(prog="dogbreed-desktop")
    sub = p.add_subparsers(dest="command", required=True)
    module = _command(name)
    module.add_arguments(sub.add_parser(name, help=module.HELP))
    return p


def cmd_gui(args) -> int:
    from ..gui.app import run

    return run([str(p) for p in args.images], model=args.model)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    setup_output()
    try:
        if argv and argv[0] in COMMANDS:
            args = _sub_parser(argv[0]).parse_args(argv)
            from ..core import threads

            threads.decide("cli")  # this process's thread counts, before any work (core/threads.py)
            return _command(argv[0]).run(args)
        return cmd_gui(_gui_parser().parse_args(argv))
    except UserError as e:  # a model that cannot be loaded, a full disk...: one line, no traceback
        return fail(str(e), getattr(e, "exit_code", EXIT_FAILED))
    except SystemExit as e:  # argparse exits this way
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`predict DIR | head`): stop quietly, as other tools do
        _drop_output()
        return EXIT_BROKEN_PIPE


def _drop_output() -> None:
    """Point stdout and stderr at the null device, so that flushing them at exit cannot raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # a stream without a file descriptor (tests)
            pass
    os.close(devnull)
