"""Where things live: bundled resources (source tree or PyInstaller bundle) and per-user data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "DogBreedStudio"
# The model the app starts with. Swapping the default is this one line.
DEFAULT_MODEL = "models/default-efficientnet_lite0.safetensors"
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
