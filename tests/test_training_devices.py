"""Device, precision and dependency choices, checked without a GPU: the CUDA path (AMP, channels_last,
pinned memory) is resolved by the same code, and fast mode never needs torchvision."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from dogbreed_desktop.core.torch.precision import Precision
from training.config import ConfigError, TrainConfig, make_config, resolve_mode, with_lr


def test_auto_mode_follows_the_device():
    assert resolve_mode("auto", "cpu") == "fast"
    assert resolve_mode("auto", "cuda") == "finetune"
    assert resolve_mode("auto", "mps") == "finetune"
    assert resolve_mode("fast", "cuda") == "fast"
    cfg = make_config("/data", mode="auto", device="cuda", device_type="cuda")
    assert cfg.mode == "finetune" and cfg.batch_size == 32 and cfg.lr is None  # decided by the head's start
    # after the linear probe the head is trained, whatever it started from: the gentle LP-FT rate
    assert with_lr(cfg, "imagenet").lr == with_lr(cfg, "random").lr == 1e-4 and cfg.batchnorm == "frozen"
    cold = cfg.replace(probe=False)
    assert with_lr(cold, "imagenet").lr == 3e-4 and with_lr(cold, "random").lr == 1e-3
    assert with_lr(make_config("/d", device="cpu", device_type="cpu", lr=0.05), "imagenet").lr == 0.05


def test_config_round_trip_and_validation(tmp_path):
    cfg = make_config("/data", device="cpu", epochs=7, seed=3)
    cfg.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == cfg
    assert TrainConfig.from_dict({**cfg.to_dict(), "unknown_future_key": 1}) == cfg
    for bad in ({"val_fraction": 1.0}, {"epochs": 0}, {"patience": -1}, {"mode": "turbo"}, {"lr": 0}):
        with pytest.raises(ConfigError):
            TrainConfig(data="/d", **bad)
    assert make_config("/d", device="cpu", device_type="cpu").mode == "fast"


@pytest.mark.filterwarnings("ignore:torch.cuda.amp.GradScaler is enabled")
def test_cuda_precision_is_mixed_and_channels_last(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    p = Precision.resolve(cuda, amp=True, images=True)
    assert p.amp_dtype == torch.bfloat16 and p.channels_last and p.grad_scaler() is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    p = Precision.resolve(cuda, amp=True, images=True)
    assert p.amp_dtype == torch.float16  # older GPUs: float16 with loss scaling
    assert isinstance(p.grad_scaler(), torch.amp.GradScaler)
    assert Precision.resolve(cuda, amp=False, images=True).amp_dtype is None
    assert not Precision.resolve(cuda, amp=True, images=False).channels_last  # features are 2-D


def test_cpu_precision_is_full():
    p = Precision.resolve(torch.device("cpu"), amp=True, images=True)
    assert p.amp_dtype is None and p.grad_scaler() is None
    x = p.to_device(torch.zeros(2, 3, 8, 8))
    assert x.is_contiguous(memory_format=torch.channels_last)
    with p.autocast():
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32


BLOCK_TORCHVISION = textwrap.dedent("""
    import sys
    class NoTV:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "torchvision":
                raise ImportError("torchvision is blocked (the CPU app bundle ships without it)")
    sys.meta_path.insert(0, NoTV())
""")


def test_fast_mode_trains_without_torchvision(tmp_path):
    code = BLOCK_TORCHVISION + textwrap.dedent(f"""
        from training.synthetic import make_shapes
        from training.config import make_config
        from training.run import start_run
        data = make_shapes({str(tmp_path / 'd')!r}, per_class=4, size=32, classes=["circle", "square"])
        cfg = make_config(data, device="cpu", image_size=32, epochs=1, cache_dir={str(tmp_path / 'c')!r})
        r = start_run(cfg, {str(tmp_path / 'run')!r})
        assert r.model_path is not None
        assert "torchvision" not in sys.modules
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_finetune_without_torchvision_says_what_to_do():
    code = BLOCK_TORCHVISION + textwrap.dedent("""
        from dogbreed_desktop.core.torch.backbones import backbone_spec
        from training.augment import FinetuneUnavailable, train_transform
        try:
            train_transform(backbone_spec("efficientnet_lite0").preprocessing)
        except FinetuneUnavailable as e:
            print(e)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "fine-tuning needs torchvision" in r.stdout and "fast mode" in r.stdout
