"""The FastAPI app: routes, the upload page, and the glue from uploads to the batching worker."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from .. import __version__
from ..core.predict.answers import answer
from . import original_api
from . import admission, openapi
from .batcher import Busy, MicroBatcher
from .cors import allow_origins
from .decode import prepare_upload
from .errors import ApiError, install_handlers
from .settings import ServerSettings
from .uploads import read_uploads

STATIC = Path(__file__).resolve().parent / "static"


def prediction_json(filename: str, p) -> dict:
    """One photo's answer: the core's contract (`core.predict.answers`) with every class's probability."""
    return {"file": filename, **answer(p, probabilities=True)}


def model_json(classifier) -> dict:
    """What the loaded model is: an ensemble's members each with its backbone and input size, not its first; and the
    backbones that help its "not a dog" gate only (for close calls)."""
    model = classifier.model
    members = [{"name": a.name, "backbone": a.backbone, "input_size": a.preprocessing.crop,
                "preprocessing": a.preprocessing.to_dict(), "weight": w, "test_time_mirror": bool(a.test_time_mirror)}
               for a, w in zip(model.members, model.member_weights)]
    gate_members = [{"backbone": a.backbone, "input_size": a.preprocessing.crop} for a in classifier.gate_members]
    return {"name": classifier.name, "ensemble": len(members) > 1, "members": members, "gate_members": gate_members,
            "device": classifier.device_description,
            "classes": [{"id": c, "name": n} for c, n in zip(classifier.classes, classifier.class_names)],
            "temperature": classifier.temperature, "metrics": classifier.metrics}


def create_app(classifier, settings: ServerSettings = ServerSettings()) -> FastAPI:
    """The web API for one loaded `Classifier`. The app owns its worker thread; it stops at app shutdown
    (or `app.state.close()`)."""
    n_classes = len(classifier.classes)

    def run(items, top_k):
        return classifier.predict_prepared(items, top_k=top_k)

    batcher = MicroBatcher(run, max_batch=settings.max_batch, wait_s=settings.batch_wait_ms / 1000,
                           max_queue=settings.max_queue)
    decoders = ThreadPoolExecutor(settings.decode_threads or max(1, (os.cpu_count() or 2) // 2),
                                  thread_name_prefix="dogbreed-decode")

    def close():
        batcher.close()
        decoders.shutdown(wait=False, cancel_futures=True)

    @asynccontextmanager
    async def lifespan(app):
        yield
        close()

    app = FastAPI(title="Dog Breed Studio", version=openapi.API_VERSION, lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Dog breed from a photo, by the model loaded with `dogbreed-desktop serve`. "
                  "The page at `/` uploads photos from a browser; `/docs` lists these endpoints offline.")
    app.state.batcher, app.state.classifier, app.state.settings, app.state.close = batcher, classifier, settings, close
    install_handlers(app)
    arrivals = admission.install(app, settings)  # upload deadline, bytes still arriving, the request log
    allow_origins(app, settings.allow_origins)  # outermost: error answers carry CORS headers too

    def decode_all(uploads):
        return [(u.filename, prepare_upload(u, classifier.prepare, settings.max_pixels)) for u in uploads]

    def busy(retry_after: int) -> ApiError:
        return ApiError(503, "busy", "the server is busy; try again shortly", headers={"Retry-After": str(retry_after)})

    # Requests decoded, queued or run, counted once their body has arrived (slow uploads wait in `arrivals`
    # without locking complete requests out): past this many, 503 at once. Only touched on the event loop's
    # thread: no lock.
    in_flight = 0
    max_in_flight = settings.max_queue + settings.max_batch

    async def classify(request: Request, top_k: int, *, one_image: bool = False) -> list:
        """The one request path: uploads -> [(file name, Prediction)]; the routes below only shape the answer."""
        nonlocal in_flight
        uploads = await read_uploads(request, settings)
        if one_image and len(uploads) > 1:
            raise ApiError(400, "one_image_only", "this endpoint takes one photo; send several to /v1/predict")
        if in_flight >= max_in_flight:
            raise busy(batcher.retry_after(backlog=in_flight))
        in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            items = await loop.run_in_executor(decoders, decode_all, uploads)
            try:
                future = batcher.submit(items, top_k)
            except Busy as e:
                raise busy(e.retry_after) from None
            results = await asyncio.wrap_future(future)
        finally:
            in_flight -= 1
        for (name, _), r in zip(items, results):
            if not r.ok:  # decoding succeeded, so this would be a bug; still an answer, not a traceback
                raise ApiError(422, "corrupt_image", r.error, file=name)
        return [(name, r) for (name, _), r in zip(items, results)]

    top_k_query = Query(settings.top_k, ge=1, le=n_classes, description="breeds to list in `top_k`, best first")
    predict_doc = openapi.predict_doc(settings, n_classes)

    @app.post("/v1/predict", summary="Breed of each uploaded photo", **predict_doc)
    async def v1_predict(request: Request, top_k: int = top_k_query):
        """Per photo: the `verdict`; `breed` (Kaggle id), `name` and `probability` when it names a breed (null
        for no dog or a breed outside the classes); the nearest breeds in `top_k` whatever the verdict; and
        `probabilities` of all classes in the order of the response's `classes` (the model's order)."""
        predictions = [prediction_json(name, r) for name, r in await classify(request, top_k)]
        return JSONResponse({"model": classifier.name, "predictions": predictions, "classes": classifier.classes})

    order = original_api.AnswerOrder.for_classes(classifier.classes, classifier.class_names)
    original_api.add_routes(app, classify, order, **openapi.predict_doc(settings, n_classes, one_image=True))

    @app.get("/v1/model", summary="The loaded model: its members, classes, metrics")
    async def model_info():
        return {"app_version": __version__, **model_json(classifier), "predict_image": order.describe(),
                "limits": {"max_upload_mb": settings.max_upload_mb, "max_images": settings.max_images,
                           "max_pixels": settings.max_pixels, "max_queue_images": settings.max_queue}}

    @app.get("/health", summary="Liveness and the worker's counters")
    async def health():
        return {"status": "ok", "model": classifier.name, "requests_in_flight": in_flight, **arrivals.stats(),
                **batcher.stats()}

    page, docs = (STATIC / "index.html").read_text("utf-8"), (STATIC / "docs.html").read_text("utf-8")

    @app.get("/", include_in_schema=False)
    async def upload_page():
        return HTMLResponse(page)

    @app.get("/docs", include_in_schema=False)
    async def api_docs():
        return HTMLResponse(docs)

    return app
