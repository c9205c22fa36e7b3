"""`serve` and `predict` give the same probabilities for the same photo with either built-in model: the real
HTTP app on uvicorn against the `predict` command, on real photos and on a phone's HEIC photo (a real photo
re-encoded by pillow-heif), which gets a verdict like any other."""

from __future__ import annotations

import json

import httpx
import pytest
from PIL import Image
from server_support import serving

from dogbreed_desktop.cli import main
from dogbreed_desktop.core.classifier import Classifier
from dogbreed_desktop.server import create_app

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def photos(real_photos, tmp_path_factory):
    """Three real photos of different breeds, and the first again as HEIC."""
    pillow_heif = pytest.importorskip("pillow_heif")
    chosen = [p for p, _ in real_photos[::250]]
    heic = tmp_path_factory.mktemp("phone") / "IMG_0001.HEIC"
    with Image.open(chosen[0]) as img:
        pillow_heif.from_pillow(img.convert("RGB")).save(str(heic), quality=90)
    return chosen + [heic]


def predict_cli(capsys, model: str, paths) -> list[dict]:
    assert main(["predict", "--json", "--top-k", "120", "--model", model, *map(str, paths)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("model", ["fast", "accurate"])
def test_serve_and_predict_agree(model, photos, capsys):
    cli = predict_cli(capsys, model, photos)
    app = create_app(Classifier.load(model))
    with serving(app) as url, httpx.Client(base_url=url, timeout=120) as client:
        # One request holding every photo: the same batch as predict's (float sums vary with the batch size)
        r = client.post("/v1/predict?top_k=120", files=[("images", (p.name, p.read_bytes())) for p in photos])
    assert r.status_code == 200, r.text
    for served, row in zip(r.json()["predictions"], cli, strict=True):
        by_breed = dict(zip(app.state.classifier.classes, served["probabilities"]))
        assert served["breed"] == row["breed"] and served["verdict"] == row["verdict"]
        # predict --json rounds to 6 decimals; any other difference is a different computation
        assert max(abs(by_breed[s["breed"]] - s["probability"]) for s in row["top_k"]) <= 5.01e-7


def test_a_heic_photo_gets_the_verdict_of_its_jpeg(photos, capsys):
    jpeg, heic = predict_cli(capsys, "fast", [photos[0], photos[-1]])
    assert heic["path"].endswith(".HEIC") and "error" not in heic
    assert heic["verdict"] == jpeg["verdict"] and heic["breed"] == jpeg["breed"]
    assert abs(heic["probability"] - jpeg["probability"]) < 0.1  # re-encoding is lossy, not a new photo
