"""Gate members (ensemble format 3): a backbone that helps the "not a dog" gate only, run only for the photos whose
members' dog-mass logit lies inside the gate's band, each on its own picture. The built-in balanced model is Lite1
with Lite0 as its gate member."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from conftest import make_image

from dogbreed_desktop.core.model.artifact import ArtifactError
from dogbreed_desktop.core.model.models import load_model, model_files, resolve_model
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.predict.gate import Gate, dog_mass_logit
from dogbreed_desktop.core.predict.preprocess import normalize
from dogbreed_desktop.paths import DEFAULT_MODEL, resource

GATE = {"method": "dog_mass", "threshold": 0.3, "scale": 1.0, "shift": 0.0, "unknown_share": 0.5}


def _manifest(tmp_path, **changes) -> dict:
    """A manifest of the fast model's file with a copy of it as gate member, written to tmp_path/m.json."""
    shutil.copy(resolve_model("fast"), tmp_path / "a.safetensors")
    shutil.copy(resolve_model("fast"), tmp_path / "g.safetensors")
    meta = {"format": "dogbreed-ensemble", "format_version": 3, "name": "t", "members": ["a.safetensors"],
            "gate_members": ["g.safetensors"], "temperature": 1.0, "gate": {**GATE, "band": [-1.0, 1.0]}, **changes}
    (tmp_path / "m.json").write_text(json.dumps(meta))
    return meta


def test_a_manifest_with_gate_members_loads_and_names_every_file(tmp_path):
    _manifest(tmp_path)
    ens = load_model(tmp_path / "m.json")
    assert len(ens.members) == 1 and len(ens.gate_members) == 1 and Gate.from_dict(ens.gate).band == (-1.0, 1.0)
    assert [f.name for f in model_files(tmp_path / "m.json")] == ["m.json", "a.safetensors", "g.safetensors"]


@pytest.mark.parametrize("changes, words", [
    ({"format_version": 2}, "format 3"),
    ({"gate": None}, "need a gate"),
    ({"gate": {**GATE, "band": [1.0, -1.0]}}, "band"),
    ({"gate": {**GATE, "band": [0.0, float("nan")]}}, "band"),
    ({"gate": {**GATE, "band": [0.0]}}, "band"),
    ({"gate": {**GATE, "band": [-3.0, -2.0]}}, "hold the threshold"),
    ({"gate_members": ["../g.safetensors"]}, "file name in the manifest's folder"),
    ({"gate_members": "g.safetensors"}, "must be a list"),
])
def test_a_malformed_gate_member_manifest_is_refused_in_one_line(tmp_path, changes, words):
    _manifest(tmp_path, **changes)
    with pytest.raises(ArtifactError, match=words) as e:
        load_model(tmp_path / "m.json")
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def balanced():
    return Classifier.load("balanced")


def _photos(tmp_path, n=6):
    rng = np.random.default_rng(3)
    return [make_image(tmp_path / f"p{i}.png", tuple(int(v) for v in rng.integers(0, 255, 3)), size=(200, 150))
            for i in range(n)]


def _batches(clf, photos):
    return [np.stack(ts) for ts in zip(*(clf.prepare(p) for p in photos))]


def _runs(clf):
    """Pictures each engine member has run, counted through the engine's observers."""
    seen = {}
    clf.engine.observers.append(lambda member, n: seen.__setitem__(member, seen.get(member, 0) + n))
    return seen


@pytest.fixture
def banded(balanced):
    """Set the balanced model's band for a test; the fitted one comes back after it."""
    gate = balanced.gate

    def set_band(band):
        balanced.gate = dataclasses.replace(gate, band=band)
        return balanced

    yield set_band
    balanced.gate = gate
    balanced.engine.observers.clear()


def test_the_default_model_is_balanced_lite1_with_lite0_in_its_gate(balanced, tmp_path):
    assert resolve_model(None) == resource(DEFAULT_MODEL) == resolve_model("balanced")
    assert [a.backbone for a in balanced.model.members] == ["efficientnet_lite1"]
    assert [a.backbone for a in balanced.gate_members] == ["efficientnet_lite0"]
    gate = balanced.gate
    assert gate.band[0] <= gate.threshold_logit <= gate.band[1]  # outside the band Lite1's side is the pair's side
    odds = np.log(gate.threshold / (1 - gate.threshold))
    assert gate.scale * gate.threshold_logit + gate.shift == pytest.approx(odds)
    # each backbone gets its own picture from the one decode
    assert [p.crop for p in balanced.preprocessings] == [240, 224]
    assert [a.shape for a in balanced.prepare(_photos(tmp_path, 1)[0])] == [(3, 240, 240), (3, 224, 224)]


def test_the_gate_member_runs_only_for_photos_inside_the_band(balanced, banded, tmp_path):
    photos = _photos(tmp_path)
    batches = _batches(balanced, photos)
    first = balanced.engine.run(0, normalize(batches[0], balanced.preprocessings[0])).imagenet
    z = np.sort(dog_mass_logit(first))
    for band, inside in (((-1e9, 1e9), len(photos)), ((1e8, 1e9), 0)):
        seen = _runs(banded(band))
        balanced.logits(batches)
        assert seen.get(1, 0) == 2 * inside, (band, seen)  # the photo and its mirror image
        balanced.engine.observers.clear()
    # a band that holds some photos: those run Lite0 (their mirror-averaged logit may move a little, so the band
    # edge sits halfway between two photos' first-view logits)
    seen = _runs(banded(((z[1] + z[2]) / 2, 1e9)))
    balanced.logits(batches)
    assert 0 < seen.get(1, 0) < 2 * len(photos), seen


def test_inside_the_band_the_gate_reads_both_backbones_and_the_breeds_lite1_alone(balanced, banded, tmp_path):
    photos = _photos(tmp_path, 3)
    batches = _batches(balanced, photos)
    probs = banded((-1e9, 1e9)).probabilities(batches)
    assert probs.max() < balanced.mirror_below  # so Lite1 runs the mirror image of each (as for most non-dogs)
    breed, imagenet = banded((-1e9, 1e9)).logits(batches)
    _, imagenet_alone = banded((1e8, 1e9)).logits(batches)
    x = normalize(batches[1], balanced.preprocessings[1])
    lite0 = (balanced.engine.run(1, x).imagenet + balanced.engine.run(1, x[..., ::-1]).imagenet) / 2
    x1 = normalize(batches[0], balanced.preprocessings[0])
    views = [balanced.engine.run(0, x1), balanced.engine.run(0, x1[..., ::-1])]
    lite1 = (views[0].imagenet + views[1].imagenet) / 2
    assert np.allclose(imagenet, (lite1 + lite0) / 2, atol=1e-4)
    assert not np.allclose(imagenet, imagenet_alone, atol=1e-2)  # Lite0 does change what the gate reads
    member = balanced.members[0]  # and the breeds are Lite1's alone
    assert np.allclose(breed, (views[0].features + views[1].features) / 2 @ member.weight + member.bias, atol=1e-4)


def test_heatmaps_leave_the_gate_member_out(balanced, banded, tmp_path):
    from dogbreed_desktop.core.predict.heatmap import heatmap

    seen = _runs(banded((-1e9, 1e9)))
    heat = heatmap(balanced, _photos(tmp_path, 1)[0])
    assert heat.mode == "L" and seen and 1 not in seen


def test_loading_warms_the_gate_member_too():
    """The first close call must not pay for opening Lite0's sessions (the warm-up photo is no close call)."""
    from dogbreed_desktop.core.predict.model_cache import _warm_up

    clf = Classifier.load("balanced")
    seen = _runs(clf)
    _warm_up(clf)
    assert seen.get(0) and seen.get(1) == 1, seen
