"""What the inference client's tasks do on the runner's thread: load a model (so torch is imported off the GUI
thread) and classify photos with it, a batch of verdicts at a time, as plain data.

`Engine` holds the active classifier. Only the runner's one thread touches it, one task at a time, so a load
and the classifications queued after it see the same model; the GUI thread only reads `info`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from ..core.control import Control
from .images import save_pasted, thumbnail
from .messages import ModelInfo, Verdict

BATCH_SIZE = 16
FIRST_BATCH = 4  # a short first batch so the first verdict shows quickly


class Engine:
    def __init__(self, device: str = "auto"):
        self.device = device
        self.classifier = None
        self.info: ModelInfo | None = None  # of the active classifier

    def load(self, path: str | None, *, control: Control) -> ModelInfo | None:
        """Load `path` (None: the built-in model) and make it the active model, unless a newer load has
        superseded this one meanwhile: then the active model stays as it was."""
        from .model_cache import load_classifier  # imports torch, on this thread

        classifier = load_classifier(path, self.device)
        if not control.should_stop():
            self.classifier, self.info = classifier, ModelInfo.from_classifier(classifier)
        return self.info

    def classify(self, items: list, *, control) -> None:
        """Photos, folders or pasted images (QImage). Publishes ("queued", [path]) once the folders are
        listed, then ("results", [Verdict]) after each batch, until done or stopped."""
        from ..core.classifier import collect_images

        paths = collect_images(save_pasted(i) if isinstance(i, QImage) else Path(i) for i in items)
        control.publish(("queued", [str(p) for p in paths]))
        if self.classifier is None:
            control.publish(("results", [Verdict(str(p), None, "no model is loaded") for p in paths]))
            return
        each_batch = _EachBatch(control)
        for chunk in (paths[:FIRST_BATCH], paths[FIRST_BATCH:]):
            if chunk and not control.should_stop():
                for result in self.classifier.iter_predict(chunk, top_k=1, batch_size=BATCH_SIZE,
                                                           control=each_batch):
                    each_batch.pending.append(result)
                each_batch.flush()


class _EachBatch(Control):
    """The control `iter_predict` gets: the task's stop flag, and a progress call after every batch that
    publishes the batch's verdicts with their thumbnails."""

    def __init__(self, task_control):
        super().__init__()
        self._stop = task_control._stop  # one flag: stopping the task stops the prediction at its next batch
        self._task = task_control
        self.pending: list = []

    def progress(self, done: int, total: int, message: str = "") -> None:
        self.flush()

    def flush(self) -> None:
        verdicts = [Verdict(r.source, getattr(r, "probabilities", None), getattr(r, "error", ""),
                            thumbnail(r.source)) for r in self.pending]
        self.pending.clear()
        if verdicts:
            self._task.publish(("results", verdicts))
