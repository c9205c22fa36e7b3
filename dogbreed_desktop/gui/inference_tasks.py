"""What the inference client's tasks do on the runner's thread: load a model (off the GUI thread) and classify
photos with it, a batch of verdicts at a time, as plain data.

`Engine` holds the active classifier. Only the runner's one thread touches it, one task at a time, so a load
and the classifications queued after it see the same model; the GUI thread only reads `info`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from ..core.control import Control
from .images import classifier_input, save_pasted
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
        from ..core.predict.model_cache import load_classifier  # opens the engine, on this thread

        classifier = load_classifier(path, self.device)
        if not control.should_stop():
            self.classifier, self.info = classifier, ModelInfo.from_classifier(classifier)
        return self.info

    def classify(self, items: list, *, control) -> None:
        """Photos, folders or pasted images (QImage). Publishes ("queued", [path]) once the folders are
        listed, then ("results", [Verdict]) after each batch, until done or stopped. Each photo is decoded
        once, in the decoding threads, for both the model and its thumbnail (images.classifier_input)."""
        from ..core import threads
        from ..core.predict.classifier import collect_images
        from ..core.predict.preprocess import load_ahead  # numpy and Pillow: imported on this thread, when first needed

        paths = collect_images(save_pasted(i) if isinstance(i, QImage) else Path(i) for i in items)
        control.publish(("queued", [str(p) for p in paths]))
        clf = self.classifier
        if clf is None:
            control.publish(("results", [Verdict(str(p), None, "no model is loaded") for p in paths]))
            return
        decoded = load_ahead(paths, lambda p: classifier_input(clf, p), window=2 * BATCH_SIZE,
                             workers=threads.current().decode)
        batch, size = [], FIRST_BATCH
        try:
            for path, item in zip(paths, decoded):
                if control.should_stop():
                    return
                batch.append((str(path), item))
                if len(batch) == size:
                    _publish(clf, batch, control)
                    batch, size = [], BATCH_SIZE
            if batch and not control.should_stop():
                _publish(clf, batch, control)
        finally:
            decoded.close()  # a stop: what was queued ahead is not decoded


def _publish(clf, batch: list, control) -> None:
    """One batch through the model; its verdicts, with their thumbnails, to the window."""
    from ..core.predict.preprocess import ImageError

    inputs = [(path, item if isinstance(item, ImageError) else item[0]) for path, item in batch]
    results = clf.predict_prepared(inputs, top_k=1)
    control.publish(("results", [Verdict.from_result(r, None if isinstance(item, ImageError) else item[1])
                                 for r, (_, item) in zip(results, batch)]))
