"""The one way to find and load "a model the user named": a built-in name ("fast", "balanced", "accurate"), a model
artifact (.safetensors), an ensemble manifest (.json) or a training run folder. `predict`, `evaluate`, `export`,
`serve`, the window and the Evaluate tab all come through here, so a name that works for one works for all.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...paths import BUILTIN_MODELS, builtin_model_path
from .artifact import load_artifact, resolve_model_path
from .ensemble import Ensemble, is_manifest, load_manifest, member_paths

ModelName = str | os.PathLike | None


def resolve_model(name: ModelName) -> Path:
    """The file to load for `name` (None: the default built-in model). Raises ArtifactError (a UserError with
    one line) when there is none."""
    path = builtin_model_path(name)
    if isinstance(name, str) and name in BUILTIN_MODELS and not path.exists():
        from .artifact import ArtifactError

        raise ArtifactError(f"the built-in model {name!r} is missing from this installation ({path})")
    return resolve_model_path(path)


def load_model(name: ModelName) -> Ensemble:
    """`resolve_model(name)` loaded: an artifact as a one-member ensemble, or the ensemble a manifest names. The
    one model loader: the classifier, `export` and the tests come through here."""
    path = resolve_model(name)
    return load_manifest(path) if is_manifest(path) else Ensemble.single(load_artifact(path))


def model_files(name: ModelName) -> list[Path]:
    """Every file the model is read from: the artifact, or a manifest and each of its members. What a cache of
    results must be keyed on to be never stale."""
    path = resolve_model(name)
    return [path, *member_paths(path)] if is_manifest(path) else [path]
