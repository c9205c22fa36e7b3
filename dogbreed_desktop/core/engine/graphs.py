"""The backbone of each model as an ONNX graph for ONNX Runtime: where it lives and how it is checked.

A graph takes normalised float32 NCHW images (any batch size and picture size) and gives three outputs:
`features` (the pooled embedding the heads read), `imagenet_logits` (the backbone's own 1000-way head, for the
"not a dog" gate) and `feature_map` (the last conv stage, for heatmaps). Heads, temperature, mirror averaging and
verdicts stay in numpy (`core.predict.classifier`), read from the model file, so one graph serves every head trained on
that backbone.

Where graphs come from, never downloaded:
- a backbone whose weights come from an installed package: `resources/graphs/` (written by `scripts/setup.sh`
  and the bundle build from the installed weights), else the user cache, where it is made once from the package
  when torch is installed;
- a fine-tuned backbone (embedded in the model file): beside the model file (`<stem>.backbone.onnx`, written when
  training saves the model), else the user cache, likewise.
Each graph records what it was made from (`dogbreed_source`); one that does not match is made again or refused.
Finding or making one (`graph_file`) is `core.engine.graph_making`; checking one needs neither torch nor onnx.
"""

from __future__ import annotations

from pathlib import Path

from ..model.artifact import ModelArtifact
from ..errors import UserError
from ..files import sha256_of
from ..model.specs import BACKBONES

GRAPH_VERSION = "2"  # bump when the inputs, outputs or export change: older graphs are made again (2: float16 weights)
# Older versions still run as they are where no graph of this version is at hand: version 1 computes the same and
# only stores float32 weights (the graph beside a fine-tuned model, which a build without onnx cannot make again).
# Built-in graphs and bundles are always made at GRAPH_VERSION (`missing_builtin_graphs`).
STILL_RUN = ("1",)
OUTPUTS = ("features", "imagenet_logits", "feature_map")


class GraphUnavailable(UserError):
    """No ONNX graph for this model here, and none can be made (no torch in this build)."""


def supported(artifact: ModelArtifact) -> bool:
    """Graphs exist for the offline EfficientNet-Lite backbones; torchvision backbones run on torch."""
    spec = BACKBONES.get(artifact.backbone)
    return spec is not None and spec.offline


def source_id(artifact: ModelArtifact) -> str:
    """What the backbone's weights are: the package weights' sha256, or the model file's own sha256."""
    if artifact.backbone_weights.get("source") == "embedded":
        if artifact.path is None:
            raise GraphUnavailable("a fine-tuned model must be saved to a file before ONNX Runtime can run it")
        return sha256_of(artifact.path)
    return str(BACKBONES[artifact.backbone].sha256)


def template_path(backbone: str) -> Path | None:
    """The backbone's template graph (`core.engine.graph_making`), installed or cached, if there is one."""
    from ...paths import cache_dir, resources_dir

    name = f"{backbone}-{str(BACKBONES[backbone].sha256)[:16]}.template.onnx"
    return next((p for p in (resources_dir() / "graphs" / name, cache_dir() / "graphs" / name) if p.is_file()), None)


def candidates(artifact: ModelArtifact, source: str) -> list[Path]:
    """Where the graph may be, best first; the last one is where a new graph is written."""
    from ...paths import cache_dir, resources_dir

    cached = cache_dir() / "graphs" / f"{artifact.backbone}-{source[:16]}.onnx"
    if artifact.backbone_weights.get("source") == "embedded":
        return [artifact.path.with_name(f"{artifact.path.stem}.backbone.onnx"), cached]
    return [resources_dir() / "graphs" / f"{artifact.backbone}-{source[:16]}.onnx", cached]


def graph_version(path: Path, backbone: str, source: str) -> str | None:
    """The export version of the graph at `path` when it was made from exactly these weights, else None (missing,
    unreadable, or another backbone's)."""
    from .ort_sessions import GraphUnreadable, open_graph

    if not path.is_file():
        return None
    try:
        session = open_graph(path, 1, optimize=False)  # reads it, plans nothing
    except GraphUnreadable:  # a damaged or foreign file: made again, or the model runs on torch
        return None
    meta = session.get_modelmeta().custom_metadata_map
    same = meta.get("dogbreed_backbone") == backbone and meta.get("dogbreed_source") == source
    return meta.get("dogbreed_graph") if same else None


def graph_matches(path: Path, backbone: str, source: str, version: str = GRAPH_VERSION) -> bool:
    """The graph at `path` was made by this version of the export from exactly these weights."""
    return graph_version(path, backbone, source) == version


def package_artifact(name: str) -> ModelArtifact:
    """A stand-in artifact for an offline backbone with its package weights (no head): feature extraction and
    the built-in graphs need only the backbone."""
    spec = BACKBONES[name]
    return ModelArtifact(name, ["x"], spec.preprocessing, None, None, spec.weights_reference(), gate=None)


def builtin_graph_paths(folder: Path | None) -> dict[str, Path]:
    """Each offline backbone -> where its built-in graph goes (default resources/graphs, as `candidates` looks)."""
    from ...paths import resources_dir
    from ..model.specs import OFFLINE_BACKBONES

    folder = folder or resources_dir() / "graphs"
    return {name: folder / f"{name}-{BACKBONES[name].sha256[:16]}.onnx" for name in OFFLINE_BACKBONES}


def missing_builtin_graphs(folder: Path | None = None) -> list[Path]:
    """The built-in graphs that are missing or not made from the expected weights (torch-free): a bundle build
    checks this before packing resources/, as the classify-only bundle has no other weights."""
    return [path for name, path in builtin_graph_paths(folder).items()
            if not graph_matches(path, name, str(BACKBONES[name].sha256))]
