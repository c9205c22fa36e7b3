import numpy as np
import os
import pickle

import pytest
import torch

from dogbreed_desktop.core.model.artifact import ArtifactError, ModelArtifact, load_artifact, save_artifact
from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.paths import builtin_model_path


def _artifact(**kw) -> ModelArtifact:
    spec = backbone_spec("efficientnet_lite0")
    base = dict(
        backbone="efficientnet_lite0",
        classes=["alpha", "beta", "golden_retriever"],
        preprocessing=spec.preprocessing,
        head_weight=torch.randn(3, 1280),
        head_bias=torch.randn(3),
        backbone_weights={"source": "package", "package": spec.package, "sha256": spec.sha256},
        temperature=1.7,
        name="test model",
        metrics={"val_top1": 0.9},
        provenance={"data": "synthetic"},
    )
    base.update(kw)
    return ModelArtifact(**base)


def test_round_trip(tmp_path):
    a = _artifact()
    path = save_artifact(a, tmp_path / "m.safetensors")
    b = load_artifact(path)
    assert b.classes == a.classes and b.class_names == ["alpha", "beta", "Golden Retriever"]
    assert b.preprocessing == a.preprocessing and b.temperature == 1.7
    assert b.metrics == {"val_top1": 0.9} and b.provenance == {"data": "synthetic"}
    assert np.array_equal(b.head_weight, a.head_weight.numpy()) and np.array_equal(b.head_bias, a.head_bias.numpy())
    assert b.backbone_state is None  # package weights are referenced, not copied
    assert path.stat().st_size < 64 * 1024


def test_run_folder_resolves_to_its_model(tmp_path):
    save_artifact(_artifact(), tmp_path / "run" / "model.safetensors")
    assert load_artifact(tmp_path / "run").classes[0] == "alpha"
    with pytest.raises(ArtifactError, match="without model.safetensors"):
        load_artifact(tmp_path)


def test_embedded_backbone_round_trip_gives_same_predictions(tmp_path):
    from dogbreed_desktop.core.torch.backbones import backbone_state, build_backbone

    state = backbone_state(build_backbone("efficientnet_lite0"))
    a = _artifact(backbone_weights={"source": "embedded"}, backbone_state=state)
    b = load_artifact(save_artifact(a, tmp_path / "ft.safetensors"))
    assert set(b.backbone_state) == set(state) and not any("_fc" in k for k in state)
    x = np.random.default_rng(0).integers(0, 255, (2, 3, 224, 224), dtype=np.uint8)
    ref = Classifier(_artifact(head_weight=a.head_weight, head_bias=a.head_bias)).probabilities([x])
    assert np.allclose(Classifier(b).probabilities([x]), ref, atol=1e-5)


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize("via", ["pickle", "torch.save"])
def test_malicious_pickle_is_refused_and_never_run(tmp_path, monkeypatch, via):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.safetensors"
    if via == "pickle":
        path.write_bytes(pickle.dumps({"head.weight": _Payload()}))
    else:
        torch.save({"head.weight": _Payload()}, path)
    with pytest.raises(ArtifactError, match="never unpickles"):
        load_artifact(path)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("content,message", [(b"", "not a Dog Breed Studio model"), (b"x" * 100, "not a Dog Breed")])
def test_garbage_is_refused(tmp_path, content, message):
    (tmp_path / "m.safetensors").write_bytes(content)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(tmp_path / "m.safetensors")


def test_safetensors_without_our_metadata(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ArtifactError, match="not a Dog Breed Studio model"):
        load_artifact(tmp_path / "other.safetensors")


def test_missing_file():
    with pytest.raises(ArtifactError, match="not found"):
        load_artifact("/nonexistent/model.safetensors")


def test_the_fast_model_describes_itself():
    a = load_artifact(builtin_model_path("fast"))
    assert a.backbone == "efficientnet_lite0" and len(a.classes) == 120
    assert a.backbone_weights["source"] == "package" and len(a.backbone_weights["sha256"]) == 64
    assert a.preprocessing.crop == 224 and a.preprocessing.mean == (0.5, 0.5, 0.5)
    assert "ImageNet" in a.provenance["data"]


def test_atomic_save_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = save_artifact(_artifact(), tmp_path / "m.safetensors")
    before = path.read_bytes()
    import dogbreed_desktop.core.model.artifact as art

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(art, "save_file", boom)
    with pytest.raises(OSError):
        save_artifact(_artifact(), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
