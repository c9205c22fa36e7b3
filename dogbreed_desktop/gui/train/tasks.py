"""The Train tab's task on its task runner (`gui/tasks.py`): the preflight check. It calls the same Qt-free
function as the CLI (`training.preflight.preflight`), imported when the task runs, on the runner's thread, so
building the tab does not import torch. Training itself runs as a child process (`child.py`)."""

from __future__ import annotations



def check(folder: str, per_class: int | None = None, *, control):
    """The preflight report (training.preflight.PreflightReport) for a folder of labelled photos."""
    from training.preflight import preflight

    return preflight(folder, control=control, per_class=per_class)
