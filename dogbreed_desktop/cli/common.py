"""Helpers every subcommand shares: exit codes, argument types, error output, a tqdm-backed Control. (JSON
output is `core.jsonsafe.dumps`.)"""

from __future__ import annotations

import argparse
import math
import sys
import warnings

from ..core.control import Control  # threading only: cheap enough for `--help`
from ..core.errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_SOME_FAILED = EXIT_FAILED  # predict/evaluate: some photos could not be read
EXIT_BROKEN_PIPE = 128 + 13  # the reader of stdout went away (`predict DIR | head`), as a shell reports SIGPIPE
# What `--model` (and export's MODEL) takes, in every subcommand alike (core/model/models.py resolves it).
MODEL_HELP = ("built-in model (fast, balanced (the default) or accurate), a model artifact (.safetensors), an ensemble "
              "manifest (.json) or a training run folder")


def setup_output() -> None:
    """Output that cannot crash or mislead, whatever the terminal: characters the stream cannot encode
    (file names that are not UTF-8, any non-Latin name on cp1252) print as backslash escapes instead of
    raising UnicodeEncodeError mid-table, and library warnings stay off stderr unless asked for with -W or
    PYTHONWARNINGS (each problem is reported in our own words)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream
                pass
    if not sys.warnoptions:
        warnings.simplefilter("ignore")


def printable(text: str) -> str:
    """`text` safe to print on a terminal: control characters (escape codes in a crafted class name or file
    name) and lone surrogates (bytes of a non-UTF-8 file name) shown as escapes, never interpreted."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else _escape(c) for c in text)


def _escape(c: str) -> str:
    code = ord(c)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
        return f"\\x{code - 0xDC00:02x}"
    return c.encode("unicode_escape").decode("ascii") if code < 0x10000 else f"\\U{code:08x}"


class Parser(argparse.ArgumentParser):
    """Usage errors as one line (what is wrong, and where to read more) and exit status 2, not the usage block."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


def number(kind: type = int, *, low: float = 0, high: float | None = None, above: bool = False):
    """An argparse type for a finite `kind` (int or float) of at least `low` (more than it when `above`) and at
    most `high`: inf, nan and numbers outside the range are refused in the parser, before any work."""

    def parse(text: str):
        value = kind(text)  # ValueError: argparse says "invalid int value"
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
        if value < low or (above and value == low) or (high is not None and value > high):
            bounds = f"more than {low:g}" if above else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"must be {bounds}{f' and at most {high:g}' if high is not None else ''}"
                                             f", not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value" (and tests find it by it)
    return parse


positive_int = number(int, low=1)


def fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"dogbreed-desktop: error: {printable(message)}", file=sys.stderr)
    return code


class ModelUnusable(UserError):
    """`--model` names nothing usable: a usage error (exit 2), said in one line by `cli.main`."""

    exit_code = EXIT_USAGE


def classifier_for(args):
    """The classifier for `--model` (any name `core.model.models.resolve_model` takes) on `--device`, from the one
    loader (core.predict.model_cache). A model that cannot be used is a usage error: raises ModelUnusable."""
    from ..core.predict.model_cache import load_classifier

    try:
        return load_classifier(args.model, args.device)
    except UserError as e:
        raise ModelUnusable(f"cannot load model: {e}") from None


def progress(total: int, enabled: bool) -> "TqdmControl":
    """A Control that draws a tqdm bar on stderr (only on a terminal)."""
    return TqdmControl(enabled, total)


class _NoBar:
    """What a disabled tqdm bar does (nothing), without importing tqdm."""

    def __init__(self, total: int):
        self.total, self.n = total, 0

    def update(self, n: int) -> None:
        self.n += n

    def clear(self) -> None:
        pass

    refresh = close = clear


class TqdmControl(Control):
    """One tqdm bar on stderr per phase (the `message` of progress: checking images, extracting features,
    training...), with rate and ETA. `write` prints a line above the bar."""

    def __init__(self, enabled: bool = True, total: int | None = None):
        super().__init__()
        self.enabled, self.bar, self.phase = enabled, None, None
        if total is not None:
            self._new_bar(total, "")

    def _new_bar(self, total: int, message: str) -> None:
        self.close()
        if self.enabled:
            from tqdm import tqdm  # 0.1 s of import: only when a bar is drawn (cold `predict` is timed)

            self.bar = tqdm(total=total, desc=message or None, unit="batch" if message == "training" else "img",
                            file=sys.stderr, leave=False, dynamic_ncols=True, mininterval=0.2)
        else:
            self.bar = _NoBar(total)
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
