"""The "not a dog" gate, verdicts and ensemble manifests, on synthetic input (no real photos needed)."""

from __future__ import annotations

import numpy as np
import json

import pytest
import torch
from conftest import make_image
from unknown_dog_support import DALMATIAN, GREAT_DANE, builtin_on_logits, dalmatian_logits, dog_logits

from dogbreed_desktop.core.model.artifact import ArtifactError, ModelArtifact, load_artifact, save_artifact
from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.core.breeds import BREED_IDS
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.model.models import load_model
from dogbreed_desktop.core.predict.gate import (DOG_ROWS, Gate, decide, dog_mass_logit, imagenet_class_names,
                                                looks_like, outside_dogs)
from dogbreed_desktop.paths import BUILTIN_MODELS, builtin_model_path, resource


def _artifact(classes, seed: int = 0, **kw) -> ModelArtifact:
    spec = backbone_spec("efficientnet_lite0")
    g = torch.Generator().manual_seed(seed)
    return ModelArtifact(backbone=spec.name, classes=list(classes), preprocessing=spec.preprocessing,
                         head_weight=torch.randn(len(classes), 1280, generator=g) * 0.01,
                         head_bias=torch.zeros(len(classes)), backbone_weights=spec.weights_reference(), **kw)


def test_imagenet_names_are_readable():
    names = imagenet_class_names()
    assert len(names) == 1000 and names[281] == "tabby cat" and names[151] == "Chihuahua"


def test_dog_mass_and_looks_like_follow_the_logits():
    z = torch.zeros(2, 1000)
    z[0, 281] = 12.0  # a confident tabby cat
    z[1, list(DOG_ROWS)] = 8.0  # most of the mass on the dog rows
    s = dog_mass_logit(z)
    assert s[0] < -5 and s[1] > 5
    assert looks_like(z)[0] == "tabby cat"
    assert looks_like(z)[1] not in {imagenet_class_names()[i] for i in DOG_ROWS}  # never names a dog


def test_verdict_rule():
    gate = Gate(threshold=0.3)
    assert decide(0.9, 0.1, gate) == "not_a_dog"
    assert decide(0.9, 0.9, gate) == "breed"
    assert decide(0.4, 0.9, gate) == "unsure"
    assert decide(0.9, 0.01, None) == "breed"  # no gate: never "not a dog"
    gate = Gate(threshold=0.3, unknown_share=0.6)
    assert decide(0.9, 0.9, gate, 0.7) == "unknown_breed" and decide(0.3, 0.9, gate, 0.6) == "unknown_breed"
    assert decide(0.9, 0.9, gate, 0.5) == "breed" and decide(0.9, 0.1, gate, 0.9) == "not_a_dog"
    assert decide(0.9, 0.9, None, 0.99) == "breed"  # no gate: never "unknown breed" either


@pytest.mark.parametrize("model", ["fast", "balanced", "accurate"])
def test_a_dalmatian_is_a_dog_of_a_breed_the_model_does_not_know(tmp_path, model):
    dalmatian = dalmatian_logits()  # made evidence: the data holds no Dalmatian photo (unknown_dog_support)
    clf = builtin_on_logits(model, dalmatian)
    r = clf.predict([make_image(tmp_path / "spotty.png", (240, 240, 240), size=(160, 120))])[0]
    assert r.verdict == "unknown_breed" and r.looks_like == "Dalmatian" and r.dog_probability > clf.gate.threshold
    assert r.breed in BREED_IDS  # the nearest known breed stays in the answer, for the chart
    share, names = outside_dogs(dalmatian[None], clf.known_rows)
    assert share[0] >= clf.gate.unknown_share and names == ["Dalmatian"]


def test_a_great_dane_with_a_little_dalmatian_stays_a_great_dane(tmp_path):
    dane = dog_logits({GREAT_DANE: 10.0, DALMATIAN: 8.0})  # the pattern a known breed with spots may show
    clf = builtin_on_logits("fast", dane)
    r = clf.predict([make_image(tmp_path / "dane.png", (90, 90, 90), size=(120, 160))])[0]
    assert r.verdict in ("breed", "unsure") and r.looks_like is None


def test_a_model_of_every_imagenet_dog_has_no_unknown_breed():
    share, names = outside_dogs(dog_logits({DALMATIAN: 10.0})[None], DOG_ROWS)
    assert share[0] == 0.0 and names == [None]


def test_a_malformed_gate_is_refused_at_load(tmp_path):
    for bad in ({"method": "magic", "threshold": 0.5}, {"method": "dog_mass", "threshold": 1.5},
                {"method": "dog_mass", "threshold": 0.5, "scale": float("nan")}, {"method": "dog_mass"},
                {"method": "dog_mass", "threshold": 0.5, "unknown_share": 0.0},
                {"method": "dog_mass", "threshold": 0.5, "unknown_share": 1.5}):
        path = save_artifact(_artifact(BREED_IDS, gate=bad), tmp_path / "m.safetensors")
        with pytest.raises(ArtifactError):
            load_artifact(path)


def test_other_classes_have_no_gate_and_never_say_not_a_dog(tmp_path):
    art = load_artifact(save_artifact(_artifact(["cat", "teapot", "car"]), tmp_path / "m.safetensors"))
    assert art.gate is None
    clf = Classifier(art)
    r = clf.predict([make_image(tmp_path / "grey.png", (128, 128, 128), size=(120, 90))])[0]
    assert clf.gate is None and r.dog_probability is None and r.verdict in ("breed", "unsure")


def test_breed_models_get_the_default_gate_when_the_file_has_none(tmp_path):
    art = _artifact(BREED_IDS)
    meta_less = save_artifact(art, tmp_path / "m.safetensors")
    assert load_artifact(meta_less).gate == Gate().to_dict()


def test_builtin_names_resolve_and_both_models_load():
    assert builtin_model_path("fast") == resource(BUILTIN_MODELS["fast"])
    assert builtin_model_path(None) == builtin_model_path("balanced")
    assert str(builtin_model_path("some/file.safetensors")) == "some/file.safetensors"
    fast, acc = load_model(builtin_model_path("fast")), load_model(builtin_model_path("accurate"))
    assert len(fast.members) == 1 and len(acc.members) >= 2 and fast.gate and acc.gate
    assert all(m.classes == list(BREED_IDS) for m in acc.members)
    size = sum(p.stat().st_size for p in resource("models").iterdir())
    assert size < 4 * 1024 * 1024  # heads and metadata only: backbones are referenced by sha256


def _manifest(folder, members, **kw) -> str:
    path = folder / "ens.json"
    path.write_text(json.dumps({"format": "dogbreed-ensemble", "format_version": 1, "members": members,
                                "temperature": 1.0, "gate": None, **kw}))
    return path


def test_ensemble_manifest_is_checked(tmp_path):
    save_artifact(_artifact(BREED_IDS), tmp_path / "a.safetensors")
    save_artifact(_artifact(["x", "y"]), tmp_path / "b.safetensors")
    outside = tmp_path.parent / "outside.safetensors"
    for members, match in ((["../outside.safetensors"], "file name"), ([str(outside)], "file name"),
                           (["a.safetensors", "b.safetensors"], "share their classes"), ([], "1 to"),
                           (["missing.safetensors"], "not found")):
        with pytest.raises(ArtifactError, match=match):
            load_model(_manifest(tmp_path, members))
    (tmp_path / "ens.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not a readable"):
        load_model(tmp_path / "ens.json")


def test_an_ensemble_of_one_model_twice_predicts_like_the_model(tmp_path):
    a = _artifact(BREED_IDS, temperature=1.3)
    save_artifact(a, tmp_path / "a.safetensors")
    ens = Classifier.load(_manifest(tmp_path, ["a.safetensors", "a.safetensors"], temperature=1.3))
    single = Classifier(load_artifact(tmp_path / "a.safetensors"))
    x = np.random.default_rng(0).integers(0, 255, (2, 3, 224, 224), dtype=np.uint8)
    assert np.allclose(ens.probabilities([x]), single.probabilities([x]), atol=1e-5)
    assert ens.gate is None and single.gate is not None  # the manifest's gate (none) wins over the members'


def test_an_ensembles_member_weights_weight_its_breed_logits(tmp_path):
    for name, seed in (("a", 1), ("b", 2)):
        save_artifact(_artifact(BREED_IDS, seed=seed), tmp_path / f"{name}.safetensors")
    x = np.random.default_rng(0).integers(0, 255, (2, 3, 224, 224), dtype=np.uint8)
    # each single model at temperature 1: its log-probabilities are its logits less a per-photo constant
    la, lb = (np.log(Classifier(load_artifact(tmp_path / f"{n}.safetensors")).probabilities([x])) for n in "ab")

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    weighted = Classifier.load(_manifest(tmp_path, ["a.safetensors", "b.safetensors"], weights=[1, 3],
                                         temperature=0.5, format_version=2))
    assert load_model(tmp_path / "ens.json").member_weights == [0.25, 0.75]
    got = weighted.probabilities([x])
    assert np.allclose(got, softmax((0.25 * la + 0.75 * lb) / 0.5), atol=1e-5)
    assert not np.allclose(got, softmax((0.5 * la + 0.5 * lb) / 0.5), atol=1e-4)  # the weights do matter


@pytest.mark.parametrize("weights", [[1], [1, -1], [0, 1], ["1", 1], [True, 1], [1e308, 1e308], [float("nan"), 1],
                                     "11", {"a": 1}, [10**400, 1], [5e-324, 1], [[1], 1]])
def test_an_ensembles_member_weights_are_checked(tmp_path, weights):
    save_artifact(_artifact(BREED_IDS), tmp_path / "a.safetensors")
    with pytest.raises(ArtifactError, match="incomplete ensemble metadata.*(weights|int too large)"):
        load_model(_manifest(tmp_path, ["a.safetensors", "a.safetensors"], weights=weights, format_version=2))


def test_weights_need_format_2_and_a_huge_format_version_is_refused_cleanly(tmp_path):
    save_artifact(_artifact(BREED_IDS), tmp_path / "a.safetensors")
    with pytest.raises(ArtifactError, match="weights need ensemble format 2"):  # an older app would ignore them
        load_model(_manifest(tmp_path, ["a.safetensors", "a.safetensors"], weights=[1, 3]))
    (tmp_path / "ens.json").write_text('{"format": "dogbreed-ensemble", "format_version": 1e400, "members": []}')
    with pytest.raises(ArtifactError):
        load_model(tmp_path / "ens.json")


def test_evaluate_not_dogs_counts_per_manifest_category(tmp_path):
    from dogbreed_desktop.core.evaluate.evaluation import evaluate_not_dogs

    folder = tmp_path / "nd"
    make_image(folder / "a.png", (40, 90, 200), size=(90, 60))
    make_image(folder / "b.png", (230, 230, 230), size=(60, 90))
    (folder / "c.jpg").write_bytes(b"not a jpeg")
    (folder / "manifest.csv").write_text("file,category\na.png,sky\nb.png,wall\n")
    clf = Classifier.load("fast")
    rep = evaluate_not_dogs(clf, folder)
    verdicts = {r.source: r.verdict for r in clf.predict([folder / "a.png", folder / "b.png"])}
    accepted = sum(v != "not_a_dog" for v in verdicts.values())
    assert rep["n"] == 2 and rep["accepted"] == accepted / 2 and len(rep["errors"]) == 1
    assert set(rep["per_category_accepted"]) == {"sky", "wall"}
