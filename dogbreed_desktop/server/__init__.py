"""`dogbreed-desktop serve`: the model over HTTP (FastAPI on uvicorn), Qt-free.

`create_app(classifier, settings)` builds the ASGI app; `cli/serve.py` runs it. One worker thread runs the model
on micro-batches of concurrent requests (`batcher.py`); uploads are read into memory with a size limit while
they stream in (`uploads.py`) and decoded in request threads (`decode.py`).
"""

from .app import create_app
from .settings import ServerSettings

__all__ = ["create_app", "ServerSettings"]
