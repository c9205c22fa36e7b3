"""Architecture contracts from pyproject.toml ([tool.importlinter]): the core and training are Qt-free, the core
needs neither training nor the GUI, and the classify path never imports the torch subpackage."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.skip("import-linter is not installed")
    r = subprocess.run([lint], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 3 kept, 0 broken" in r.stdout
