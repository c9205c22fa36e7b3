"""One source for every training default: TrainConfig's fields make the `train` options and the Train tab's
form; run statuses have one wording; people-facing errors share one base; thread counts are decided once."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
import torch

from dogbreed_desktop.core import threads
from dogbreed_desktop.core.model.artifact import ArtifactError
from dogbreed_desktop.core.torch.backbones import BackboneUnavailable
from dogbreed_desktop.core.datasets import DatasetError
from dogbreed_desktop.core.devices import DeviceUnavailable
from dogbreed_desktop.core.errors import UserError, describe
from training.augment import FinetuneUnavailable
from training.options import add_arguments, config_values, options_for
from training.config import DEFAULT_LR, MODE_DEFAULTS, ConfigError, TrainConfig, make_config
from training.run import RunError
from training.runfolder import RunStatus


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(p)
    return p.parse_args(list(argv))


def test_every_setting_is_an_option_with_its_default_in_the_help():
    p = argparse.ArgumentParser()
    add_arguments(p)
    options = {a.dest: a for a in p._actions}
    for f in dataclasses.fields(TrainConfig):
        assert f.name in options, f"TrainConfig.{f.name} has no --{f.name.replace('_', '-')}"
        assert options[f.name].help.startswith(f.metadata["help"])
    assert "fast 50, top 20, finetune 10" in options["epochs"].help
    assert f"{DEFAULT_LR[('fast', 'imagenet')]:g}" in options["lr"].help
    assert options["device"].choices == ["auto", "cpu", "cuda", "mps"]


def test_options_are_checked_like_the_config_and_unset_ones_left_to_the_mode():
    args = parse("--data", "/d", "--epochs", "7", "--mode", "finetune", "--no-amp")
    values = config_values(args)
    assert values == {"data": "/d", "epochs": 7, "mode": "finetune", "amp": False}
    cfg = make_config(device_type="cuda", **values)
    assert (cfg.epochs, cfg.batch_size, cfg.amp) == (7, MODE_DEFAULTS["finetune"]["batch_size"], False)
    for bad, message in ((["--epochs", "0"], "epochs must be at least 1"),
                         (["--val-fraction", "1"], "val fraction must be between 0 and 1"),
                         (["--lr", "0"], "lr must be more than 0")):
        with pytest.raises(argparse.ArgumentError, match=message):
            parse(*bad)
        with pytest.raises(ConfigError, match=message):
            TrainConfig(data="/d", **{bad[0][2:].replace("-", "_"): float(bad[1])})


def test_mode_defaults_are_the_fields_defaults():
    cfg = TrainConfig(data="/d")  # the dataclass defaults are the fast mode's
    assert {k: getattr(cfg, k) for k in MODE_DEFAULTS["fast"]} == MODE_DEFAULTS["fast"]
    assert MODE_DEFAULTS["finetune"] == {"epochs": 10, "batch_size": 32, "weight_decay": 1e-5, "label_smoothing": 0.0}
    assert MODE_DEFAULTS["top"] == {"epochs": 20, "batch_size": 64, "weight_decay": 1e-5, "label_smoothing": 0.0}


@pytest.mark.gui
def test_the_settings_form_is_made_from_the_config(qtbot):
    pytest.importorskip("pytestqt")
    from PySide6.QtWidgets import QComboBox

    from dogbreed_desktop.gui.train.settings_panel import SettingsPanel

    panel = SettingsPanel()
    qtbot.addWidget(panel)
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    assert panel.values() == {"backbone": "efficientnet_lite0", "mode": "auto", "device": "auto",
                              "val_fraction": 0.25, "epochs": None, "seed": 0, "batch_size": None,
                              "patience": 3, "lr": None}
    for name, widget in panel.widgets.items():
        assert widget.toolTip().lower() == fields[name].metadata["help"].lower()
        if isinstance(widget, QComboBox):
            assert [widget.itemData(i) for i in range(widget.count())] == list(fields[name].metadata["choices"])
    panel.set_values(epochs=4, lr=0.002, val_fraction=0.3, mode="fast", device="cpu", amp=False)
    cfg = make_config("/d", **panel.values())
    assert (cfg.epochs, cfg.lr, cfg.val_fraction, cfg.mode, cfg.batch_size) == (4, 0.002, 0.3, "fast", 128)
    # the same settings as `train` options, for a child process: they parse back to the same values
    given = {k: v for k, v in panel.values().items() if v is not None}
    assert config_values(parse(*options_for(panel.values()))) == given


def test_run_status_has_one_wording():
    assert RunStatus.describe("stopped_early") == "stopped early (no more improvement)"
    assert RunStatus.describe("from-a-newer-app") == "from-a-newer-app"
    assert f"{RunStatus.FINISHED}" == "finished" and RunStatus.FINISHED == "finished"


def test_errors_fit_for_a_person_share_one_base():
    for cls in (ArtifactError, DatasetError, BackboneUnavailable, DeviceUnavailable, ConfigError, RunError,
                FinetuneUnavailable):
        assert issubclass(cls, UserError)
    assert describe(RunError("no such run")) == "no such run"
    assert describe(KeyError("x")) == "KeyError: 'x'"


def test_thread_counts_are_decided_once_per_process():
    before = torch.get_num_threads()
    try:
        gui = threads.decide("gui")
        with gui.for_tiny_ops():  # the window's process: nobody changes torch's count
            assert torch.get_num_threads() == before
        cli = threads.decide("cli")
        assert threads.current() is cli
        if cli.tiny_ops is not None:
            with cli.for_tiny_ops():
                assert torch.get_num_threads() == cli.tiny_ops
            assert torch.get_num_threads() == before
    finally:
        threads.decide("cli")
