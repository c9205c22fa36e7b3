"""What this installation can do. The classify-only build (`scripts/build-app.sh classify`) has no PyTorch: it
classifies, evaluates and serves on ONNX Runtime, and what needs torch (training, ONNX export, GPUs) is refused
with one sentence, the same in the window and on the command line."""

from __future__ import annotations

import importlib.util

from .errors import UserError


class NeedsFullBuild(UserError):
    """Asked for something that only the full build (with PyTorch) does."""


def has_torch() -> bool:
    """PyTorch is installed. Found without importing it (an import takes seconds)."""
    return importlib.util.find_spec("torch") is not None


def needs_full_build(what: str) -> str:
    """The one sentence that says `what` is not in this build."""
    return f"{what} needs the full build of Dog Breed Studio: this classify-only build has no PyTorch."


TRAINING = needs_full_build("Training")


def require_torch(what: str) -> None:
    """NeedsFullBuild saying that `what` needs the full build, when torch is not installed."""
    if not has_torch():
        raise NeedsFullBuild(needs_full_build(what))
