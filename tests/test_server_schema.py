"""Schemathesis, run as its users run it (the CLI, every default check and phase: positive data accepted,
negative data rejected, status codes, content types, headers and bodies as documented), against a live server
on 127.0.0.1: it finds nothing. Bounded: 25 examples per operation and phase (about 100 requests, 10-30 s).

Schemathesis is taught what the image media types are (`schemathesis_hooks.py`: real pictures), since a schema
cannot say it; everything else it draws from the schema alone. The answer's schema holds the verdict contract
(`breed`, `name` and `probability` null unless the verdict names a breed), so every 200 is checked against it;
more images than the schema's `maxItems` is a 400, as its negative-data check expects of invalid input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from server_support import serving

from dogbreed_desktop.server import ServerSettings, create_app

pytestmark = pytest.mark.slow  # among the slowest: `-m "not slow"` leaves them out

pytest.importorskip("schemathesis")
TESTS = Path(__file__).resolve().parent


def test_schemathesis_finds_nothing(default_classifier, tmp_path):
    # Small limits, so that the schema's bounds (and one step past them) are cheap to send.
    app = create_app(default_classifier, ServerSettings(max_upload_mb=1, max_images=3))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    with serving(app) as url:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json", "--max-examples", "25",
             "--seed", "1", "--workers", "1", "--request-timeout", "60", "--no-color"],
            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout and "v4.32.5" in run.stdout  # the pinned release, all of it run
