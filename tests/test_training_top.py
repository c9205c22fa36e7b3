"""The top mode through the real loop on tiny synthetic pictures: activations cached once (fp16, on disk),
curves and checkpoints like the other modes, resume, and a model with an embedded backbone whose ONNX graph
beside it classifies like the torch engine."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from half_support import torch_as_stored

from dogbreed_desktop.core.model.artifact import load_artifact
from dogbreed_desktop.core.torch.backbones import build_backbone
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.torch.efficientnet_lite import EfficientNetLite
from training.activations import VIEWS, ActivationStore
from training.callbacks import load_checkpoint
from training.config import ConfigError, make_config
from training.run import resume_run, start_run
from training.runfolder import read_metrics
from training.synthetic import make_shapes

SIZE = 64


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp("shapes") / "data", per_class=8, size=SIZE)


def top_config(data, cache, **kw):
    settings = dict(mode="top", image_size=SIZE, epochs=2, lr=3e-3, patience=0, cache_dir=str(cache),
                    decode_threads=2, batch_size=16, top_stages=2)
    return make_config(data, device="cpu", **{**settings, **kw})


def test_stage_table_gives_the_split_points():
    lite0 = EfficientNetLite("efficientnet_lite0")
    assert lite0.stage_starts == (0, 1, 3, 5, 8, 11, 15) and lite0.top_start(1) == 15 and lite0.top_start(2) == 11
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():  # the split is exact: lower then upper is the whole network
        whole = lite0.eval().feature_map(x)
        split = lite0.upper(lite0.lower(x, 11), 11)
    assert torch.equal(whole, split)
    with pytest.raises(ConfigError, match="top stages must be between 1 and 3"):
        make_config("/d", mode="top", device_type="cpu", top_stages=4)


class Counting(Control):
    def __init__(self):
        super().__init__()
        self.messages = []

    def progress(self, done, total, message=""):
        self.messages.append((message, done, total))


def test_top_mode_trains_resumes_and_classifies_without_torch(shapes, tmp_path, monkeypatch):
    from dogbreed_desktop.core.engine import graph_making

    cache, run = tmp_path / "cache", tmp_path / "run"
    asked = []  # an export takes minutes on a busy CPU: the first model's graph is only asked for
    with monkeypatch.context() as m:
        m.setattr(graph_making, "write_graph_beside", asked.append)
        result = start_run(top_config(shapes, cache), run)
    assert [a.backbone_weights for a in asked] == [{"source": "embedded"}]
    assert result.status == "finished" and result.model_path is not None
    assert [r["epoch"] for r in read_metrics(run / "metrics.csv")] == [0, 1, 2]
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["epoch"] == 2 and ckpt["config"]["mode"] == "top"
    # the lower stages did not move; the top did
    before = build_backbone("efficientnet_lite0").state_dict()
    after = {k[len("backbone."):]: v for k, v in ckpt["model"].items() if k.startswith("backbone.")}
    assert torch.equal(after["_blocks.10._project_conv.weight"], before["_blocks.10._project_conv.weight"])
    assert not torch.equal(after["_blocks.11._project_conv.weight"], before["_blocks.11._project_conv.weight"])
    assert torch.equal(after["_blocks.11._bn1.running_mean"], before["_blocks.11._bn1.running_mean"])

    # activations: fp16 chunks, one folder per view, 40 photos x 75 % train in every view, + val in "center"
    folders = sorted((cache / "activations").iterdir())
    assert len(folders) == len(VIEWS) and all("block11-64px" in f.name for f in folders)
    stores = {f.name.split("-64px-")[1].rsplit("-", 1)[0]: ActivationStore(f) for f in folders}
    assert len(stores["center"].index) == 40 and len(stores["mirror"].index) == 30
    assert stores["center"].chunks[0].dtype == np.float16 and stores["center"].chunks[0].shape[1:] == (112, 4, 4)

    # resume to 3 epochs: the count goes on and every activation comes from the cache
    control = Counting()
    more = resume_run(run, epochs=3, control=control)
    assert [r["epoch"] for r in read_metrics(run / "metrics.csv")] == [0, 1, 2, 3]
    caching = [m for m in control.messages if m[0] == "caching activations"]
    assert caching[0][1] == caching[0][2] == 40
    assert more.model_path is not None
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "finished" and status["best_epoch"] == more.best_epoch

    # the model: an embedded backbone with its ONNX graph beside it; ONNX Runtime and torch agree
    art = load_artifact(run)
    assert art.backbone_weights == {"source": "embedded"} and art.provenance["mode"] == "top"
    assert (run / "model.backbone.onnx").is_file()
    ort, ref = Classifier.load(run, device="cpu"), Classifier.load(run, device="cpu", engine="torch")
    assert ort.engine.name == "onnxruntime" and ref.engine.name == "torch"
    torch_as_stored(ref, ort)  # the graph's float16-stored weights, in torch
    photos = [shapes / "ring" / "ring_0001.png", shapes / "cross" / "cross_0002.png"]
    batches = [np.stack(b) for b in zip(*(ort.prepare(p) for p in photos))]
    np.testing.assert_allclose(ort.probabilities(batches), ref.probabilities(batches), atol=1e-4)
    assert ort.predict(photos)[0].ok


def test_top_mode_needs_an_efficientnet_lite():
    with pytest.raises(ConfigError, match="top mode works with the EfficientNet-Lite backbones"):
        make_config("/d", mode="top", device_type="cpu", backbone="resnet50")


def test_frozen_batchnorm_keeps_the_statistics_and_trains_the_rest():
    from torch import nn

    from training.top import FinetuneNet

    net = FinetuneNet(build_backbone("efficientnet_lite0"), nn.Linear(1280, 3)).train()
    bn = net.backbone._blocks[5]._bn1
    mean, weight = bn.running_mean.clone(), bn.weight.detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    nn.functional.cross_entropy(net(torch.randn(4, 3, 64, 64)), torch.tensor([0, 1, 2, 0])).backward()
    opt.step()
    assert net.training and not bn.training
    assert torch.equal(bn.running_mean, mean) and not torch.equal(bn.weight, weight)
