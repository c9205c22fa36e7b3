"""The Evaluate view (see `view.py`) and File ▸ Export Model… (`model_export.py`)."""

from .view import EvaluateView  # noqa: F401
