"""Shared fixtures. Qt runs offscreen, nothing may download, and user data goes to a temp folder."""

from __future__ import annotations

import os
from pathlib import Path

# Before any QApplication exists (pytest-qt creates it lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["DOGBREED_OFFLINE"] = "1"

import pytest  # noqa: E402
from PIL import Image  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _engine_graphs():
    """The built-in backbones' ONNX graphs in resources/graphs, as `scripts/setup.sh` leaves them (made here from
    the installed weights when missing, once), so no test makes one in its temporary user folder."""
    from dogbreed_desktop.core.engine.graph_making import prepare_builtin_graphs

    prepare_builtin_graphs()


@pytest.fixture(autouse=True)
def _user_data(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DOGBREED_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real Kaggle-layout photo set from DOGBREED_DATA; tests that need it skip without it."""
    root = os.environ.get("DOGBREED_DATA")
    if not root or not (Path(root) / "labels.csv").is_file():
        pytest.skip("DOGBREED_DATA is not set to the dog-breed-identification folder")
    return Path(root)


@pytest.fixture(scope="session")
def real_labels(real_data) -> dict[str, str]:
    """image id -> Kaggle breed id."""
    import csv

    with open(real_data / "labels.csv", newline="") as f:
        return {row["id"]: row["breed"] for row in csv.DictReader(f)}


@pytest.fixture(scope="session")
def real_photos(real_data, real_labels) -> list[tuple[Path, str]]:
    """(path, breed) for 5 photos per breed: 600 photos, deterministic."""
    by_breed: dict[str, list[str]] = {}
    for image_id, breed in sorted(real_labels.items()):
        by_breed.setdefault(breed, []).append(image_id)
    return [(real_data / "train" / f"{i}.jpg", b) for b in sorted(by_breed) for i in by_breed[b][:5]]


@pytest.fixture(scope="session")
def default_classifier():
    from dogbreed_desktop.core.predict.classifier import Classifier

    return Classifier.load()


def make_image(path: Path, color=(200, 120, 40), size=(64, 48), mode="RGB", **save_kwargs) -> Path:
    """A small synthetic picture saved to `path`."""
    img = Image.new("RGB", size, color)
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save_kwargs)
    return path


@pytest.fixture(scope="session")
def heic_photo(real_photos, tmp_path_factory) -> tuple[Path, Path]:
    """(a real dog photo, the same photo re-encoded as a phone's HEIC by pillow-heif)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    jpeg = real_photos[0][0]
    heic = tmp_path_factory.mktemp("phone") / "IMG_0001.HEIC"
    with Image.open(jpeg) as img:
        pillow_heif.from_pillow(img.convert("RGB")).save(str(heic), quality=90)
    return jpeg, heic
