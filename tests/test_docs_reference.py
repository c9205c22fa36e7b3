"""The docs' generated parts against the code they come from: every option and positional argument that
`dogbreed-desktop [CMD] --help` prints is on the CLI reference page, and nothing else is; every endpoint of the
server's OpenAPI schema is on the HTTP page; the benchmarks' stamp says commit, CPU and date. The pages' generator
is the MkDocs hook itself (docs/hooks/reference.py), loaded from its file as MkDocs loads it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from dogbreed_desktop.cli import SUBCOMMANDS, main

ROOT = Path(__file__).resolve().parent.parent


def load(relative: str):
    spec = importlib.util.spec_from_file_location(Path(relative).stem, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = load("docs/hooks/reference.py")


def printed_arguments(help_text: str) -> tuple[set[str], set[str]]:
    """(option strings, positional names) as `--help` lists them: each entry's first line is indented by two
    spaces, its help text further."""
    options, positionals, section = set(), set(), ""
    for line in help_text.splitlines():
        if line and not line[0].isspace():
            section = line
        elif re.match(r"  \S", line):
            invocation = line[2:].split("  ")[0]
            if invocation.startswith("-"):
                options |= {t.rstrip(",") for t in invocation.split() if t.startswith("-")}
            elif section.startswith("positional arguments"):
                positionals.add(invocation)
    return options, positionals


def page_arguments(section: str) -> tuple[set[str], set[str]]:
    options, positionals = set(), set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first = row.split(" | ")[0]
            names = set(re.findall(r"`([^`]+)`", first))
            (positionals if "(positional)" in first else options).update(names)
    return options, positionals


def page_sections(page: str) -> dict[str, str]:
    parts = re.split(r"^### `([^`]+)`$", page, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("command", ("", *SUBCOMMANDS))
def test_every_argument_help_prints_is_on_the_cli_page(command, capsys):
    assert main([command, "--help"] if command else ["--help"]) == 0
    printed = printed_arguments(capsys.readouterr().out)
    sections = page_sections(reference.cli_reference())
    assert set(sections) == {"dogbreed-desktop", *(f"dogbreed-desktop {c}" for c in SUBCOMMANDS)}
    on_page = page_arguments(sections[f"dogbreed-desktop {command}".strip()])
    assert printed[0] and on_page == printed


def test_every_endpoint_is_on_the_http_page(default_classifier):
    from dogbreed_desktop.server import create_app

    app = create_app(default_classifier)
    try:
        schema = app.openapi()
    finally:
        app.state.close()
    page = reference.http_reference(schema)
    endpoints = {f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops}
    assert endpoints >= {"POST /v1/predict", "POST /api/predictImage", "GET /v1/model", "GET /health"}
    assert set(re.findall(r"^### `([A-Z]+ [^`]+)`$", page, flags=re.M)) == endpoints
    assert "`predictions[].top_k[].probability`" in page and "| 503 |" in page  # answers and errors, in full


def test_a_benchmark_writes_what_it_prints_under_the_stamp(tmp_path, capsys):
    stamp = load("benchmarks/stamp.py")
    out = tmp_path / "results" / "bench.md"
    with stamp.recording(str(out)):
        print("| run | images/s |\n|---|---|\n| a | 1.0 |")
    assert "| a | 1.0 |" in capsys.readouterr().out  # still printed
    first, blank, *table = out.read_text().splitlines()
    assert re.fullmatch(r"Measured at commit `([0-9a-f]{7,}(-dirty)?|unknown)` on .+, \d+ cores, "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\.", first), first
    assert blank == "" and table == ["| run | images/s |", "|---|---|", "| a | 1.0 |"]

    with pytest.raises(RuntimeError), stamp.recording(str(out)):  # a failed run leaves the file as it was
        print("| b | 2.0 |")
        raise RuntimeError("interrupted")
    assert "| b |" not in out.read_text()
