"""Where and why a model fails: per-photo evaluation records, the metrics built from them, a saved-result
cache, and the HTML/CSV/PNG report. Qt-free; matplotlib is imported only when figures are drawn."""

from .analysis import (  # noqa: F401
    ClassMetrics, confusion, per_class, photos_for, reliability, summary, top_losses, weakest_first,
)
from .records import Evaluation, PhotoRecord  # noqa: F401
from .writer import HTML_NAME, write_report  # noqa: F401
