"""`dogbreed-desktop serve`: the model over HTTP (FastAPI on uvicorn), Qt-free.

`create_app(classifier, settings)` builds the ASGI app; `cli/serve.py` runs it. One worker thread runs the model
on micro-batches of concurrent requests (`batcher.py`); uploads are read into memory with a size limit while
they stream in (`uploads.py`), under a deadline and a budget for bytes still arriving (`admission.py`; the
connection deadlines are in `deadlines.py`), and decoded in request threads (`decode.py`). `openapi.py` holds
the schema of the prediction endpoints; `requestlog.py` logs each bad request as one line with its id.
"""

from .app import create_app
from .settings import ServerSettings

__all__ = ["create_app", "ServerSettings"]
