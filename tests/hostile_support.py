"""Helpers the hostile-input tests share: crafted model files, running the CLI as a user would (a separate
process, strict output encodings), and running code under a memory limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from safetensors.torch import save_file

from dogbreed_desktop.core.torch.backbones import backbone_spec

ROOT = Path(__file__).resolve().parent.parent


def good_metadata(classes=("alpha", "beta", "gamma")) -> dict:
    spec = backbone_spec("efficientnet_lite0")
    return {
        "format": "dogbreed-model",
        "format_version": 1,
        "name": "crafted",
        "backbone": "efficientnet_lite0",
        "backbone_weights": spec.weights_reference(),
        "classes": list(classes),
        "preprocessing": spec.preprocessing.to_dict() | {"mean": list(spec.preprocessing.mean),
                                                          "std": list(spec.preprocessing.std)},
        "temperature": 1.0,
        "metrics": {},
        "provenance": {},
    }


def good_tensors(n: int = 3, dim: int = 1280) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"head.weight": torch.randn(n, dim, generator=g) * 0.01, "head.bias": torch.zeros(n)}


def write_model(path: Path, meta=None, tensors=None, raw_meta: str | None = None) -> Path:
    """A .safetensors file with exactly the metadata and tensors given (no validation on the way out)."""
    meta = good_metadata() if meta is None else meta
    tensors = good_tensors() if tensors is None else tensors
    text = raw_meta if raw_meta is not None else json.dumps(meta)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"dogbreed": text})
    return path


def cli(*args: str, encoding: str = "utf-8", cwd: Path | None = None, env: dict | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess:
    """`dogbreed-desktop ARGS` in its own process with a strict stdout encoding, as a user's terminal is."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": f"{encoding}:strict",
                "PYTHONUTF8": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "dogbreed_desktop", *map(str, args)], capture_output=True,
                          cwd=cwd or ROOT, env=full_env, timeout=timeout)


def assert_clean(proc: subprocess.CompletedProcess, code: int) -> str:
    """The process ended with `code` and no traceback; returns stdout+stderr as text for further checks."""
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out, out
    assert proc.returncode == code, out
    return out


def run_limited(code: str, limit_mb: int, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter whose address space may grow only `limit_mb` past what it has
    once the package is imported (RLIMIT_AS), and which prints its peak RSS growth in MB last."""
    prelude = textwrap.dedent(f"""
        import resource, sys
        import torch, dogbreed_desktop.core.predict.classifier, training.preflight  # the baseline: imports done
        def _vm():
            for line in open("/proc/self/status"):
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
        _base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        _limit = _vm() + {limit_mb} * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))
    """)
    epilogue = "\nprint('PEAK_MB', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _base_rss) / 1024)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code) + epilogue], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def peak_mb(proc: subprocess.CompletedProcess) -> float:
    return float(proc.stdout.strip().splitlines()[-1].split()[1])
