"""Loaded classifiers, kept by file and modification time, so switching back to a model (or opening a second
window, as the tests do) does not load it again. Call from the worker thread: this imports torch."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

KEEP = 2
_lock = threading.Lock()
_cache: OrderedDict = OrderedDict()


def load_classifier(path: str | None, device: str):
    from ..core.artifact import resolve_model_path
    from ..core.classifier import Classifier
    from ..paths import builtin_model_path

    file = resolve_model_path(builtin_model_path(path))
    key = (str(file.resolve()), file.stat().st_mtime_ns, device)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    _leave_a_core_for_the_window()
    clf = Classifier.load(file, device=device)
    _warm_up(clf)
    with _lock:
        _cache[key] = clf
        while len(_cache) > KEEP:
            _cache.popitem(last=False)
    return clf


def _leave_a_core_for_the_window() -> None:
    """Torch's CPU threads plus the core's decoding threads otherwise take every core, and the event loop
    then waits for a time slice (measured: 70-85 ms stalls on 2 cores, under 50 ms with one core left free,
    and more photos per second). An explicit OMP_NUM_THREADS wins."""
    import torch

    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1)))


def _warm_up(clf) -> None:
    """One tiny prediction: the first forward pass is several times slower than the rest (kernel selection,
    allocator), so it is paid here, while the window says "loading model", not on the user's first photo."""
    from PIL import Image

    crop = clf.preprocessing.crop
    clf.predict([Image.new("RGB", (crop, crop), (128, 128, 128))])
