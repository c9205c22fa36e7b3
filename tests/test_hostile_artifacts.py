"""Crafted model files: each is refused at load with one message (exit 2 from the CLI), never loaded into
nonsense ("nan%", a reversed ranking) and never a traceback. Hypothesis fuzzes the metadata."""

from __future__ import annotations

import numpy as np
import copy
import json
import math
import pickle

import pytest
import torch
from hostile_support import assert_clean, cli, good_metadata, good_tensors, write_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dogbreed_desktop.core.model.artifact import ArtifactError, load_artifact
from dogbreed_desktop.core.model.artifact_schema import METADATA_RULES, Rule, SchemaError, validate_metadata


def _meta(**changes) -> dict:
    meta = good_metadata()
    for key, value in changes.items():
        target = meta
        *parents, last = key.split("__")
        for p in parents:
            target = target[p]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return meta


_DELETE = object()

BAD_METADATA = {
    "temperature NaN": (_meta(temperature=math.nan), "temperature"),
    "temperature 1e-300": (_meta(temperature=1e-300), "temperature"),
    "temperature -1 (ranking reversed)": (_meta(temperature=-1), "temperature"),
    "temperature text": (_meta(temperature="hot"), "temperature"),
    "std zero": (_meta(preprocessing__std=[0.5, 0.0, 0.5]), "preprocessing.std"),
    "one-value mean": (_meta(preprocessing__mean=[0.5]), "preprocessing.mean"),
    "resize 100000": (_meta(preprocessing__resize=100000), "preprocessing.resize"),
    "crop 100000": (_meta(preprocessing__crop=100000, preprocessing__resize=100000), "preprocessing"),
    "crop larger than resize": (_meta(preprocessing__crop=300), "crop"),
    "resize a float": (_meta(preprocessing__resize=256.5), "preprocessing.resize"),
    "interpolation unknown": (_meta(preprocessing__interpolation="lanczos9"), "interpolation"),
    "duplicate class names": (_meta(classes=["alpha", "beta", "alpha"]), "more than once"),
    "class names null": (_meta(classes=None), "classes"),
    "class name a dict": (_meta(classes=["alpha", {"x": 1}, "gamma"]), "classes"),
    "class name empty": (_meta(classes=["alpha", "  ", "gamma"]), "empty"),
    "class name with terminal escape": (_meta(classes=["alpha", "\x1b[2J\x1b[31mgotcha", "gamma"]), "control"),
    "unknown backbone": (_meta(backbone="resnet9000"), "backbone"),
    "weights source unknown": (_meta(backbone_weights={"source": "http://evil"}), "source"),
    "package weights for a torchvision backbone": (_meta(backbone="resnet50"), "package"),
    "no preprocessing": (_meta(preprocessing=_DELETE), "preprocessing"),
    "preprocessing a list": (_meta(preprocessing=[1, 2]), "preprocessing"),
    "metrics a string": (_meta(metrics="great"), "metrics"),
}


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_bad_metadata_is_refused_with_the_field_named(tmp_path, case):
    meta, field = BAD_METADATA[case]
    path = write_model(tmp_path / "m.safetensors", meta)
    with pytest.raises(ArtifactError, match="not a usable model") as e:
        load_artifact(path)
    assert field.split(".")[0] in str(e.value)
    assert "\x1b" not in str(e.value)  # a crafted value is quoted, never passed to the terminal raw


@pytest.mark.parametrize("raw,message", [
    ("[1, 2, 3]", "JSON object"), ("null", "JSON object"), ('"text"', "JSON object"),
    ("{not json", "damaged"), ('{"format": "dogbreed-model", "format_version": 99}', "newer"),
])
def test_metadata_that_is_not_an_object_is_refused(tmp_path, raw, message):
    with pytest.raises(ArtifactError, match=message):
        load_artifact(write_model(tmp_path / "m.safetensors", raw_meta=raw))


BAD_TENSORS = {
    "NaN head": ({"head.weight": torch.full((3, 1280), math.nan), "head.bias": torch.zeros(3)}, "NaN"),
    "infinite bias": ({"head.weight": torch.zeros(3, 1280), "head.bias": torch.tensor([0, math.inf, 0])}, "NaN"),
    "int8 head": ({"head.weight": torch.zeros(3, 1280, dtype=torch.int8), "head.bias": torch.zeros(3)},
                  "floating"),
    "1-D head": ({"head.weight": torch.zeros(3 * 1280), "head.bias": torch.zeros(3)}, "shape"),
    "head for another backbone": ({"head.weight": torch.zeros(3, 2048), "head.bias": torch.zeros(3)}, "shape"),
    "too few rows": ({"head.weight": torch.zeros(2, 1280), "head.bias": torch.zeros(2)}, "shape"),
    "no bias": ({"head.weight": torch.zeros(3, 1280)}, "head.bias"),
    "extra tensor": ({**good_tensors(), "payload": torch.zeros(4)}, "unexpected"),
    "backbone weights not declared": ({**good_tensors(), "backbone.stem.weight": torch.zeros(2)}, "backbone"),
}


@pytest.mark.parametrize("case", sorted(BAD_TENSORS))
def test_bad_tensors_are_refused(tmp_path, case):
    tensors, message = BAD_TENSORS[case]
    with pytest.raises(ArtifactError, match=message):
        load_artifact(write_model(tmp_path / "m.safetensors", tensors=tensors))


def test_cli_refuses_crafted_models_with_exit_2_and_one_line(tmp_path):
    photo = tmp_path / "dog.png"
    from conftest import make_image

    make_image(photo)
    nan_head = write_model(tmp_path / "nan.safetensors", tensors=BAD_TENSORS["NaN head"][0])
    huge = write_model(tmp_path / "huge.safetensors", BAD_METADATA["resize 100000"][0])
    pickled = tmp_path / "pickled.safetensors"
    pickled.write_bytes(pickle.dumps({"head.weight": [1.0]}))
    for model in (nan_head, huge, pickled):
        proc = cli("predict", "--model", model, photo)
        out = assert_clean(proc, 2)
        errors = [line for line in out.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("dogbreed-desktop: error: cannot load model"), out


def test_a_header_length_starting_0x80_is_not_taken_for_a_pickle(tmp_path):
    # safetensors begins with the header's length, little-endian: its first byte may well be 0x80.
    for pad in range(0, 300):
        meta = good_metadata() | {"name": "x" * pad}
        path = write_model(tmp_path / "m.safetensors", meta)
        if path.read_bytes()[0] == 0x80:
            assert load_artifact(path).name == meta["name"]
            return
    pytest.fail("no padding gave a 0x80 first byte")


def test_the_rule_table_can_be_extended(tmp_path):
    """A new field is one Rule in the table (the gate's own rule is in the table already)."""
    rule = Rule("example.threshold", lambda v: None if isinstance(v, float) and 0 < v < 1 else "must be in (0, 1)",
                required=False)
    METADATA_RULES.append(rule)
    try:
        validate_metadata(good_metadata())  # absent and optional: fine
        validate_metadata(good_metadata() | {"example": {"threshold": 0.5}})
        with pytest.raises(SchemaError, match="example.threshold must be in"):
            validate_metadata(good_metadata() | {"example": {"threshold": 7.0}})
    finally:
        METADATA_RULES.remove(rule)


# --- property-based: any metadata gives a clean refusal or a model that predicts sensibly ---------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8,
)
_KEYS = ["format", "format_version", "name", "backbone", "backbone_weights", "classes", "preprocessing",
         "preprocessing.resize", "preprocessing.crop", "preprocessing.mean", "preprocessing.std",
         "preprocessing.interpolation", "temperature", "metrics"]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(_KEYS), _json), min_size=1, max_size=3))
def test_fuzzed_metadata_is_refused_cleanly_or_usable(tmp_path, changes):
    meta = copy.deepcopy(good_metadata())
    for key, value in changes:
        target = meta
        *parents, last = key.split(".")
        for p in parents:
            target = target.setdefault(p, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict):
            target[last] = value
    path = write_model(tmp_path / "fuzz.safetensors", meta, good_tensors(len(meta["classes"]))
                       if isinstance(meta.get("classes"), list) and meta["classes"] else None)
    try:
        artifact = load_artifact(path)
    except ArtifactError as e:
        assert str(e) and "Traceback" not in str(e)
        return
    # Accepted: everything the classifier will use is sane.
    p = artifact.preprocessing
    assert 16 <= p.crop <= p.resize <= 1024 and all(s > 0 for s in p.std) and len(p.mean) == 3
    assert 0.01 <= artifact.temperature <= 100 and len(set(artifact.classes)) == len(artifact.classes)
    assert np.isfinite(artifact.head_weight).all()


def test_valid_model_still_predicts(tmp_path):
    """The checks refuse nothing the app itself writes: a copy of the built-in model, through every check, loads
    and predicts a photo."""
    import shutil

    from conftest import make_image

    from dogbreed_desktop.core.predict.classifier import Classifier
    from dogbreed_desktop.core.model.models import resolve_model

    copy = shutil.copy(resolve_model("fast"), tmp_path / "mine.safetensors")
    artifact = load_artifact(copy)
    assert len(artifact.classes) == 120 and json.dumps(artifact.metadata())
    photo = make_image(tmp_path / "dog.png", color=(180, 120, 60), size=(300, 240), format="PNG")
    [result] = Classifier.load(copy, device="cpu").predict([photo])
    assert result.ok and len(result.probabilities) == 120
    assert abs(sum(result.probabilities) - 1) < 1e-5 and result.breed in artifact.classes


@pytest.mark.parametrize("flag", ["DOGBREED_OFFLINE", "HF_HUB_OFFLINE"])
def test_a_torchvision_model_offline_never_tries_to_download(tmp_path, monkeypatch, flag):
    from dogbreed_desktop.core.torch.backbones import BackboneUnavailable, backbone_spec
    from dogbreed_desktop.core.predict.classifier import Classifier

    spec = backbone_spec("resnet50")
    meta = good_metadata() | {"backbone": "resnet50", "backbone_weights": spec.weights_reference()}
    model = write_model(tmp_path / "rn.safetensors", meta, good_tensors(3, 2048))
    monkeypatch.delenv("DOGBREED_OFFLINE", raising=False)
    monkeypatch.setenv(flag, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-cache"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(BackboneUnavailable, match="cannot be downloaded now"):
        Classifier.load(model, device="cpu")
