"""The one way to load a classifier for a model name: the window, `predict`, `evaluate` and `serve` all call
`load_classifier`. Loaded classifiers are kept by file and modification time, so switching back to a model (or
opening a second window, as the tests do) does not load it again. Loading opens the inference engine (ONNX Runtime
on the CPU; torch only on a GPU): the window calls it from a worker thread."""

from __future__ import annotations

import threading
from collections import OrderedDict

KEEP = 2
_lock = threading.Lock()
_cache: OrderedDict = OrderedDict()


def load_classifier(path: str | None, device: str):
    """The classifier for `path` (any name `core.model.models.resolve_model` takes), loaded once."""
    from ..model.models import resolve_model
    from .classifier import Classifier

    file = resolve_model(path)
    key = (str(file.resolve()), file.stat().st_mtime_ns, device)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    clf = Classifier.load(file, device=device)
    _warm_up(clf)
    with _lock:
        _cache[key] = clf
        while len(_cache) > KEEP:
            _cache.popitem(last=False)
    return clf


def _warm_up(clf) -> None:
    """One tiny prediction: the first forward pass is several times slower than the rest (kernel selection,
    allocator), so it is paid here, while the window says "loading model", not on the user's first photo."""
    import numpy as np
    from PIL import Image

    from .preprocess import normalize

    crop = clf.preprocessing.crop
    clf.predict([Image.new("RGB", (crop, crop), (128, 128, 128))])
    n = len(clf.members)
    for j, a in enumerate(clf.gate_members):  # they run for close calls only, which grey is not: warm them too
        p = a.preprocessing
        clf.engine.run(n + j, normalize(np.full((1, 3, p.crop, p.crop), 128, np.uint8), p))
