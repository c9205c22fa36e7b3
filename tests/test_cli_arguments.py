"""Bad arguments are refused before any work, in one line and with exit status 2: every numeric option of every
subcommand (found by walking the parsers, so a new option is covered the day it is added) refuses inf, nan and
-1; `serve --batch-wait-ms inf` does so as a real process; a heatmap folder that is a file is refused before a
photo is read. The server's batcher refuses such a wait itself, for callers other than the CLI."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys

import pytest
from conftest import make_image

from dogbreed_desktop.cli import COMMANDS, _sub_parser, main


def subparser(name: str) -> argparse.ArgumentParser:
    top = _sub_parser(name)
    return next(a for a in top._actions if isinstance(a, argparse._SubParsersAction)).choices[name]


def numeric_options() -> list[tuple[str, str, list[str]]]:
    """(command, option, the arguments the command requires) for every int- or float-typed option."""
    found = []
    for name in COMMANDS:
        parser, required = subparser(name), []
        for a in parser._actions:
            if not a.option_strings and a.nargs != 0:
                required.append("x")  # a positional (paths, a model name): never read, the parse stops first
            elif a.required:
                required += [a.option_strings[0], "x"]
        found += [(name, a.option_strings[-1], required) for a in parser._actions if a.option_strings
                  and (a.type in (int, float) or getattr(a.type, "__name__", "") in ("int", "float"))]
    return found


NUMERIC = numeric_options()


def test_the_walk_finds_the_numeric_options_of_each_command():
    found = {(c, o) for c, o, _ in NUMERIC}
    assert {("serve", "--batch-wait-ms"), ("serve", "--port"), ("serve", "--upload-timeout"), ("predict", "--top-k"),
            ("evaluate", "--per-class"), ("train", "--lr"), ("train", "--seed"), ("train", "--val-fraction"),
            ("train", "--epochs")} <= found
    assert {c for c, _ in found} == set(COMMANDS)


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
@pytest.mark.parametrize("command, option, required", NUMERIC, ids=[f"{c} {o}" for c, o, _ in NUMERIC])
def test_every_numeric_option_refuses_inf_nan_and_negative_in_one_line(command, option, required, value, capsys):
    assert main([command, *required, option, value]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert option in err and "Traceback" not in err


def test_serve_batch_wait_inf_exits_2_with_one_line():
    r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "serve", "--batch-wait-ms", "inf", "--port", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == ["dogbreed-desktop serve: error: argument --batch-wait-ms: must be a finite "
                                     "number, not inf (see dogbreed-desktop serve --help)"]


def test_a_heatmap_folder_that_is_a_file_is_refused_before_any_photo(tmp_path, capsys):
    photo = make_image(tmp_path / "dog.jpg", size=(200, 150))
    taken = tmp_path / "heat"
    taken.write_text("a file, not a folder")
    assert main(["predict", "--heatmap", str(taken), str(photo)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.splitlines() == [f"dogbreed-desktop: error: --heatmap needs a folder, and "
                                                      f"{taken} is a file"]
    assert main(["predict", "--format", "kaggle", "--heatmap", str(tmp_path / "new"), str(photo)]) == 2
    assert "--format kaggle" in capsys.readouterr().err and not (tmp_path / "new").exists()


@pytest.mark.parametrize("wait", [math.inf, math.nan, -0.001])
def test_the_batcher_refuses_a_wait_it_cannot_keep(wait):
    from dogbreed_desktop.server.batcher import MicroBatcher

    with pytest.raises(ValueError, match="wait_s"):
        MicroBatcher(lambda items, k: [], max_batch=4, wait_s=wait, max_queue=8)
