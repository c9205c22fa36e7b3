"""Continuing a run safely: its checkpoint read without running code, its images checked, and the model of
a run killed after its last checkpoint (but before `model.safetensors` was written) rebuilt from it."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from dogbreed_desktop.core.torch.backbones import build_backbone, load_backbone_state
from dogbreed_desktop.core.torch.heads import linear_head

from .callbacks import load_checkpoint
from .config import TrainConfig, preprocessing_for
from .runfolder import RunError, RunStatus
from .split import SPLIT_FILENAME, Split
from .state import FitResult


def read_checkpoint(path: Path) -> dict:
    try:
        ckpt = load_checkpoint(path)
    except pickle.UnpicklingError:
        # Not PyTorch's advice to load it with weights_only=False: that would run whatever code it holds.
        raise RunError(f"{path} holds objects other than plain data and is refused, because loading it "
                       "could run code; start a new run") from None
    except Exception as e:  # truncated zip, EOF, damaged records: torch raises several kinds
        raise RunError(f"{path} is damaged or truncated ({type(e).__name__}); start a new run, or "
                       "restore the file") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "dogbreed-training-checkpoint" or "epoch" not in ckpt:
        raise RunError(f"{path} is not a Dog Breed Studio training checkpoint")
    return ckpt


def check_images(split: Split, run_dir: Path) -> None:
    """A run whose images are gone would train on nothing and call it finished: say so instead."""
    samples = split.train + split.val
    missing = [s.path for s in samples if not s.path.exists()]
    if missing:
        raise RunError(f"{len(missing)} of the {len(samples)} images of {run_dir.name} are missing, e.g. "
                       f"{missing[0]}; put the data back where it was (see {SPLIT_FILENAME}) to continue")


def result_from_checkpoint(run_dir: Path, config: TrainConfig, ckpt: dict, device: torch.device) -> FitResult:
    """What `fit` would have returned for a run whose epochs are all done, from its last checkpoint."""
    saved = ckpt.get("callbacks") or {}
    best, es = saved.get("BestWeights") or {}, saved.get("EarlyStopping") or {}
    state, outputs = best.get("best_state") or ckpt.get("model") or {}, best.get("best_outputs")
    if outputs is None or "head.weight" not in state:
        raise RunError(f"{run_dir.name}: the checkpoint holds no validated weights to write a model from")
    head = linear_head(state["head.weight"], state["head.bias"])
    trained = config.mode != "fast"  # top and finetune adapt the backbone
    backbone = None
    if trained:
        backbone = build_backbone(config.backbone, pretrained=False)
        load_backbone_state(backbone, {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")})
    status, reason = (RunStatus.STOPPED_EARLY, es["reason"]) if es.get("stopped_epoch") else \
        (RunStatus.FINISHED, f"all {config.epochs} epochs done")
    return FitResult(
        status=status, reason=reason, classes=list(ckpt["classes"]), preprocessing=preprocessing_for(config),
        head=head, backbone=backbone, backbone_trained=trained, history=list(ckpt.get("history", [])),
        best_epoch=best.get("best_epoch"), best_outputs=outputs, head_init=ckpt.get("head_init", "random"),
        skipped={}, device=device,
    )
