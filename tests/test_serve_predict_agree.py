"""`serve` and `predict` give the same probabilities for the same photo with either built-in model: the real
HTTP app on uvicorn against the `predict` command, on real photos and on a phone's HEIC photo."""

from __future__ import annotations

import json

import httpx
import pytest
from server_support import serving

from dogbreed_desktop.cli import main
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.server import create_app

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def photos(real_photos, heic_photo):
    """Three real photos of different breeds, and one as HEIC."""
    return [p for p, _ in real_photos[::250]] + [heic_photo[1]]


def predict_cli(capsys, model: str, paths) -> list[dict]:
    assert main(["predict", "--json", "--top-k", "120", "--model", model, *map(str, paths)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("model", ["fast", "balanced", "accurate"])
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
