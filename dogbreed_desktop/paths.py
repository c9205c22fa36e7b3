"""Where things live: bundled resources (source tree or PyInstaller bundle) and per-user data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "DogBreedStudio"
# The built-in models, by the names `--model` and the Model menu use, fastest first. The app starts with
# DEFAULT_MODEL: the most accurate that answers a photo in 30 ms and a folder at 1.5x a bare torch script.
BUILTIN_MODELS = {
    "fast": "models/fast-efficientnet_lite0.safetensors",
    "balanced": "models/balanced.json",  # Lite1, with Lite0 as its gate's member (a manifest)
    "accurate": "models/accurate-ensemble.json",  # a manifest naming its member artifacts
}
DEFAULT_MODEL = BUILTIN_MODELS["balanced"]
# The model artifact inside a training run folder: `--model RUN` and File > Open model accept the folder.
MODEL_FILENAME = "model.safetensors"


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller puts data files here
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(name: str) -> Path:
    return resources_dir() / name


def default_model_path() -> Path:
    return resource(DEFAULT_MODEL)


def builtin_model_path(name: str | os.PathLike | None) -> Path:
    """None -> the default model; "fast"/"balanced"/"accurate" -> that built-in model, unless a file of that name exists
    here; anything else is a path, returned as given."""
    if name is None:
        return default_model_path()
    if isinstance(name, str) and name in BUILTIN_MODELS and not Path(name).exists():
        return resource(BUILTIN_MODELS[name])
    return Path(name)


def user_data_dir() -> Path:
    """Runs, feature cache and settings; never inside the app bundle. DOGBREED_HOME overrides (tests)."""
    override = os.environ.get("DOGBREED_HOME")
    if override:
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def runs_dir() -> Path:
    return user_data_dir() / "runs"


def cache_dir() -> Path:
    return user_data_dir() / "cache"
