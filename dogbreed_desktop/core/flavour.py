"""What this installation can do. The classify-only build (`scripts/build-app.sh classify`) has no PyTorch: it
classifies, evaluates and serves on ONNX Runtime, and what needs torch (training, GPUs) is refused with one
sentence, the same in the window and on the command line. ONNX export needs no torch, only the onnx package, which
that build leaves out too: it is refused the same way, naming onnx."""

from __future__ import annotations

import importlib.util

from .errors import UserError


class NeedsFullBuild(UserError):
    """Asked for something that only the full build (with PyTorch) does."""


def has_torch() -> bool:
    """PyTorch is installed. Found without importing it (an import takes seconds)."""
    return importlib.util.find_spec("torch") is not None


def has_onnx() -> bool:
    """The onnx package is installed: ONNX export writes its file with it (and needs nothing else)."""
    return importlib.util.find_spec("onnx") is not None


def needs_full_build(what: str, lacks: str = "PyTorch") -> str:
    """The one sentence that says `what` is not in this build, for lack of `lacks`."""
    return f"{what} needs the full build of Dog Breed Studio: this classify-only build has no {lacks}."


TRAINING = needs_full_build("Training")
EXPORT = needs_full_build("ONNX export", lacks="onnx package")


def require_torch(what: str) -> None:
    """NeedsFullBuild saying that `what` needs the full build, when torch is not installed."""
    if not has_torch():
        raise NeedsFullBuild(needs_full_build(what))
