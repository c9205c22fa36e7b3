"""Saved evaluations, so reopening one is instant: in the run folder for a run's model, else in the app's cache.

The key covers the bytes of every file the model is read from (an ensemble's manifest and each member), the
version of the engine's graphs (their stored weights change the probabilities a little) and the photo list (path,
label, size, modification time): retraining, an app with other graphs, editing a photo or relabelling it makes a
new key, never a stale answer.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from ....paths import MODEL_FILENAME
from ...datasets import LabelledImage
from ...files import sha256_of, write_text
from ...model.models import model_files
from .records import Evaluation

FOLDER = "evaluations"  # inside a run folder


def cache_key(model_path: str | Path, items: list[LabelledImage]) -> str:
    from ...engine import graphs

    h = hashlib.sha256(f"graphs {graphs.GRAPH_VERSION}\n".encode())
    for path in model_files(model_path):
        h.update(f"{path.name}\t{sha256_of(path)}\n".encode("utf-8", "surrogatepass"))
    for item in sorted(items, key=lambda i: str(i.path)):
        try:
            st = item.path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"\n{item.path}\t{item.label}\t{stamp}".encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def cache_folder(model_path: str | Path) -> Path:
    """`RUN/evaluations/` for a run's model, else `<app cache>/evaluations/`."""
    model_path = Path(model_path)
    if model_path.name == MODEL_FILENAME and (model_path.parent / "config.json").is_file():
        return model_path.parent / FOLDER
    from ....paths import cache_dir

    return cache_dir() / FOLDER


def cached(model_path: str | Path, key: str) -> Evaluation | None:
    path = cache_folder(model_path) / f"{key}.json"
    try:
        return Evaluation.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or from another version: evaluate again


def store(ev: Evaluation, key: str) -> Path | None:
    """Atomically; only complete evaluations (a stopped one would pass for the whole set)."""
    if not ev.complete or not ev.model_path:
        return None
    path = cache_folder(ev.model_path) / f"{key}.json"
    text = json.dumps(ev.to_dict(), separators=(",", ":"))
    write_text(path, text)
    return path


def run_validation_items(run_dir: str | Path) -> list[LabelledImage]:
    """A training run's own validation photos (its `split.csv`), the fair default for evaluating its model."""
    path = Path(run_dir) / "split.csv"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [LabelledImage(Path(r["path"]), r["label"], "val") for r in csv.DictReader(f)
                    if r.get("subset") == "val" and r.get("path") and r.get("label")]
    except (OSError, csv.Error, UnicodeDecodeError, KeyError):
        return []
