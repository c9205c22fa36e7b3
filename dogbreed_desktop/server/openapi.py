"""The OpenAPI description of the prediction endpoints, held to what the server really accepts and answers.

FastAPI cannot derive it: the endpoints read the body themselves (streamed, never spooled), so the request
body, both answer shapes (predictions, and the JSON error of every 4xx/5xx) and the limits are written here
from the same settings the server enforces. `tests/test_server_schema.py` runs Schemathesis against it.
"""

from __future__ import annotations

from .settings import ServerSettings

# The version of the API's contract (OpenAPI `info.version`), apart from the app's: 0.2.0 made `breed`, `name`
# and `probability` null unless the verdict names a breed, and `/v1/model` describe each member (CHANGELOG.md).
API_VERSION = "0.2.0"

# What a photo may be: the formats Pillow reads that cameras, phones and browsers produce. The server reads
# any format Pillow knows (and `application/octet-stream` bodies), but these are the ones it promises.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp")

PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "stable, for programs: `no_image`, `not_an_image`, ..."},
            "message": {"type": "string", "description": "one line for a person"},
            "file": {"type": "string", "description": "the upload it is about, when it is about one"},
        }}},
}
ERRORS = {
    400: "no image, an empty file, more images than allowed (`maxItems`), or a malformed multipart body",
    408: "the upload did not arrive within --upload-timeout seconds (the connection is then closed)",
    413: "an upload over --max-upload-mb, or a picture too large to decode safely",
    415: "a body that is neither multipart/form-data nor an image, or a file that is not an image",
    422: "a truncated or corrupt image, or a bad query parameter",
    500: "a bug in the server (reported with the request id in its log)",
    503: "busy: too many requests or uploads at once; retry after the `Retry-After` header's seconds",
}


def request_body(settings: ServerSettings, max_images: int | None = None) -> dict:
    binary = {"type": "string", "format": "binary", "minLength": 1, "maxLength": settings.max_upload_bytes}
    raw = {"schema": binary}
    return {
        "required": True,
        "description": f"At most {settings.max_upload_mb:g} MB in all, arriving within {settings.upload_timeout:g} s.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["image"], "properties": {"image": {
                    "type": "array", "minItems": 1, "maxItems": max_images or settings.max_images, "items": binary,
                    "description": "one or more photos (a file part under any other field name counts too)"}}},
                "encoding": {"image": {"contentType": ", ".join(IMAGE_TYPES)}},
            },
            **{t: raw for t in IMAGE_TYPES},
        },
    }


def prediction_answer(n_classes: int) -> dict:
    """`core.predict.answers.answer`'s contract, with every class's probability."""
    score = {"type": "object", "required": ["breed", "name", "probability"],
             "properties": {"breed": {"type": "string"}, "name": {"type": "string"}, "probability": PROBABILITY}}
    named = "; null unless `verdict` is `breed` or `unsure` (the nearest breeds are in `top_k` whatever the verdict)"
    prediction = {
        "type": "object",
        "required": ["file", "verdict", "breed", "name", "probability", "dog_probability", "looks_like", "top_k",
                     "probabilities"],
        "properties": {
            "file": {"type": "string", "description": "the upload's file name"},
            "verdict": {"type": "string", "enum": ["breed", "unsure", "not_a_dog", "unknown_breed"],
                        "description": "`breed`, `unsure` (a breed, not sure which), `not_a_dog`, or "
                                       "`unknown_breed` (a dog of a breed outside `classes`)"},
            "breed": {"type": ["string", "null"], "description": "the breed's id (one of `classes`)" + named},
            "name": {"type": ["string", "null"], "description": "its name for people" + named},
            "probability": {**PROBABILITY, "type": ["number", "null"], "description": "its probability" + named},
            "dog_probability": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                                "description": "null when the model has no \"not a dog\" gate"},
            "looks_like": {"type": ["string", "null"], "description": "for `not_a_dog`: what it looks like; "
                           "for `unknown_breed`: the dog it looks like (\"Dalmatian\")"},
            "top_k": {"type": "array", "items": score, "minItems": 1, "maxItems": n_classes,
                      "description": "`top_k` breeds, best first"},
            "probabilities": {"type": "array", "items": PROBABILITY, "minItems": n_classes, "maxItems": n_classes,
                              "description": "every class, in the order of `classes`"},
        },
        # The contract itself, so that a schema checker holds the server to it: a breed only where one is named.
        "if": {"properties": {"verdict": {"enum": ["breed", "unsure"]}}},
        "then": {"properties": {"breed": {"type": "string"}, "name": {"type": "string"},
                                "probability": {"type": "number"}}},
        "else": {"properties": {"breed": {"type": "null"}, "name": {"type": "null"}, "probability": {"type": "null"}}},
    }
    return {
        "type": "object", "required": ["model", "predictions", "classes"],
        "properties": {
            "model": {"type": "string"},
            "predictions": {"type": "array", "items": prediction, "minItems": 1, "description": "one per photo"},
            "classes": {"type": "array", "items": {"type": "string"}, "minItems": n_classes, "maxItems": n_classes},
        },
    }


def responses(n_classes: int) -> dict:
    answers = {200: {"description": "the breed of each photo", "content": {
        "application/json": {"schema": prediction_answer(n_classes)}}}}
    for status, text in ERRORS.items():
        answers[status] = {"description": text, "content": {"application/json": {"schema": ERROR}}}
    answers[503]["headers"] = {"Retry-After": {
        "description": "seconds until the queue, or the uploads arriving, are likely done",
        "schema": {"type": "integer", "minimum": 1}}}
    return answers


def predict_doc(settings: ServerSettings, n_classes: int, *, one_image: bool = False) -> dict:
    """Keyword arguments for the prediction routes' decorators. `one_image`: the original project's endpoint,
    one photo a request, whose 200 answer its route's response model describes."""
    answers = responses(n_classes)
    if one_image:
        del answers[200]
        answers[400] = dict(answers[400], description=answers[400]["description"] + ", or more than one photo")
    return {"openapi_extra": {"requestBody": request_body(settings, 1 if one_image else None)},
            "responses": answers}
