"""The Evaluate view's background work, run on task runners (`gui/tasks.py`): evaluating and gallery thumbnails
(its report export is `gui/exporter.py`'s). Each calls the same Qt-free code as the CLI, imported when the task
runs (on the runner's thread, so building the view does not import torch), and returns plain data."""

from __future__ import annotations

from pathlib import Path

from ...core.control import Throttle


def photos_to_evaluate(model_file: Path, data: str | None):
    """(items, description): a run's own validation photos when `data` is None, else the folder's photos
    (for an already split folder, its held-out test/ part)."""
    from ...core.datasets import DatasetError, described, load_labelled_set, photos_to_score
    from ...core.evaluate.report.cache import run_validation_items

    if data is None:
        items = run_validation_items(model_file.parent)
        if not items:
            raise DatasetError("this model has no training run with validation photos: choose a folder of photos")
        return items, f"validation split of {model_file.parent.name}"
    found = load_labelled_set(data)
    items, which = photos_to_score(found)  # as `evaluate --data` does, so "Export report…" writes its report
    return items, described(found.root, which)


def evaluate(model: str | None, data: str | None, device: str = "cpu", *, control):
    """The core.evaluate.report.Evaluation of `model` (None: built-in) on `data`: the saved one when model and photos
    are unchanged, else a new one (saved when complete). Publishes what it is doing as text."""
    from ...core.evaluate.evaluation import evaluate_photos
    from ...core.model.models import resolve_model
    from ...core.evaluate.report import cache
    from ...core.predict.model_cache import load_classifier

    model_file = resolve_model(model or None)
    control.publish("Finding the photos…")
    items, description = photos_to_evaluate(model_file, data)
    key = cache.cache_key(model_file, items)
    saved = cache.cached(model_file, key)
    if saved is not None:
        return saved
    control.publish("Loading the model…")
    clf = load_classifier(str(model_file), device)
    control.publish(f"Evaluating {len(items)} photos…")
    ev = evaluate_photos(clf, items, data=description, control=control)
    try:
        cache.store(ev, key)
    except OSError as e:  # a full disk: the evaluation is still shown, only not kept for next time
        control.publish(f"The evaluation is not saved for next time. {e}")
    return ev


def thumbnails(paths: list[str], *, control):
    """Yields chunks of (path, QImage or None), about ten a second, in the gallery's order."""
    from ..images import thumbnail

    chunk, throttle = [], Throttle()
    throttle.ready()
    for path in paths:
        if control.should_stop():
            return
        chunk.append((path, thumbnail(path)))
        if throttle.ready():
            yield chunk
            chunk = []
    if chunk:
        yield chunk

