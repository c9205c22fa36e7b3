"""The original project's `/api/predictImage` contract on a real server: the request its React front end sends
from another origin, the answer it reads (`prediction` into DogBreedMap.json, `results` in that order), `null`
for a photo with no dog, and CORS only for the origins `--allow-origin` names."""

from __future__ import annotations

import io
import math
import random

import httpx
import pytest
from conftest import make_image
from PIL import Image
from server_support import original_breed_map, serving
from unknown_dog_support import builtin_on_logits, dalmatian_logits

from dogbreed_desktop.core.breeds import BREED_IDS, find_breed
from dogbreed_desktop.core.predict.classifier import BreedScore, Prediction
from dogbreed_desktop.server import ServerSettings, create_app
from dogbreed_desktop.server.original_api import AnswerOrder, original_names

PAGE = "http://127.0.0.1:3000"  # where the original front end's page would come from
# What Chromium sends for the original client's `fetch`/axios POST of a FormData with the photo.
BROWSER = {"Origin": PAGE, "Accept": "*/*", "Referer": PAGE + "/", "Sec-Fetch-Mode": "cors",
           "Sec-Fetch-Site": "same-site"}


def upload(data: bytes) -> dict:
    return {"image": ("uploadedContent.jpeg", data, "image/jpeg")}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 160), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


def cors_headers(r: httpx.Response) -> list[str]:
    return [h for h in r.headers if h.lower().startswith("access-control-")]


@pytest.fixture(scope="module")
def api(default_classifier):
    with serving(create_app(default_classifier, ServerSettings(allow_origins=(PAGE,)))) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        yield client


def test_shipped_order_covers_the_120_breeds_one_to_one():
    names = original_names()
    ids = [getattr(find_breed(n), "id", None) for n in names]
    assert len(names) == 120 and None not in ids and sorted(ids) == sorted(BREED_IDS)
    # not a plain sort: the original puts 51 "Greater swiss mountain dog" before 52 "Great dane"
    assert names[51:53] == ["Greater swiss mountain dog", "Great dane"] and names != sorted(names)


def test_shipped_order_is_the_original_dogbreedmap():
    original = original_breed_map()
    if original is None:
        pytest.skip("original-api/DogBreedMap.json is not beside DOGBREED_DATA")
    assert original_names() == [original[str(i)] for i in range(len(original))]


def fake_prediction(classes, probabilities, verdict="breed"):
    best = max(range(len(classes)), key=probabilities.__getitem__)
    top = (BreedScore(classes[best], classes[best].title(), probabilities[best]),)
    return Prediction("p.jpg", tuple(probabilities), top, 0.9 if verdict != "not_a_dog" else 0.01, verdict,
                      "tabby cat" if verdict == "not_a_dog" else None)


def test_any_order_of_the_120_breeds_answers_in_the_original_order():
    classes = sorted(BREED_IDS)  # a model trained on the Kaggle folders: sorted ids, not ImageNet's order
    rng = random.Random(0)
    probs = [rng.random() for _ in classes]
    probs = [p / sum(probs) for p in probs]
    order = AnswerOrder.for_classes(classes, classes)
    assert order.describe() == {"order": "original", "classes": original_names()}
    answer = order.answer(fake_prediction(classes, probs))
    row = answer["results"][0]
    for name, logp in zip(original_names(), row):
        assert logp == pytest.approx(math.log(probs[classes.index(find_breed(name).id)]))
    assert find_breed(original_names()[answer["prediction"]]).id == answer["breed"]
    probs[0] = 0.0  # float32 underflow: still a finite number, JSON has no -Infinity
    assert math.isfinite(min(order.answer(fake_prediction(classes, probs))["results"][0]))


def test_other_classes_answer_in_the_models_own_order():
    classes = ["cat", "beagle", "pug"]
    order = AnswerOrder.for_classes(classes, ["Cat", "Beagle", "Pug"])
    assert order.describe() == {"order": "model", "classes": ["Cat", "Beagle", "Pug"]}
    answer = order.answer(fake_prediction(classes, [0.2, 0.1, 0.7]))
    assert answer["prediction"] == 2 and answer["results"][0] == pytest.approx([math.log(p) for p in (.2, .1, .7)])
    # 120 classes with one breed twice is not the original set either
    assert AnswerOrder.for_classes([*BREED_IDS[:119], BREED_IDS[0]], BREED_IDS).kind == "model"


def check_original_shape(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body)[:2] == ["prediction", "results"]
    row, = body["results"]  # a batch of one
    assert len(row) == 120 and sum(map(math.exp, row)) == pytest.approx(1, abs=1e-4)
    if body["prediction"] is not None:
        assert isinstance(body["prediction"], int) and row[body["prediction"]] == max(row)
    return body


@pytest.mark.realdata
def test_the_original_clients_request_names_the_true_breed(api, default_classifier, real_photos):
    table = original_breed_map() or dict(enumerate(original_names()))
    photos = real_photos[::25]  # 24 breeds
    expected = default_classifier.predict([p for p, _ in photos], top_k=1)
    named = []
    for (photo, breed), want in zip(photos, expected):
        r = api.post("/api/predictImage", files=upload(photo.read_bytes()), headers=BROWSER)
        body = check_original_shape(r)
        assert r.headers["access-control-allow-origin"] == PAGE
        name = table[str(body["prediction"])] if original_breed_map() else table[body["prediction"]]
        assert find_breed(name).id == want.breed == body["breed"]  # the client's lookup = the model's top-1
        assert body["verdict"] == want.verdict
        row = [math.exp(v) for v in body["results"][0]]
        ours = dict(zip(default_classifier.classes, want.probabilities))
        assert row == pytest.approx([ours[find_breed(n).id] for n in original_names()], abs=2e-5)
        named.append(find_breed(name).id == breed)
    # The fast model is right on most of these; a mapping off by even one place would name almost none.
    assert sum(named) >= 0.75 * len(named), named


@pytest.mark.realdata
def test_a_cat_gets_prediction_null(api, default_classifier, real_data):
    from training.holdout import not_dogs_dir, not_dogs_split

    folder = not_dogs_dir(real_data)
    if not (folder / "manifest.csv").is_file():
        pytest.skip("the not-dogs folder is not beside DOGBREED_DATA")
    cat = next(p for p, c in not_dogs_split(folder)["heldout"] if c == "cat")
    body = check_original_shape(api.post("/api/predictImage", files=upload(cat.read_bytes()), headers=BROWSER))
    assert body["prediction"] is None and body["verdict"] == "not_a_dog" and body["looks_like"]
    assert body["breed"] is None and body["dog_probability"] < 0.5
    assert default_classifier.predict([cat])[0].verdict == "not_a_dog"


def test_both_paths_same_answer_and_the_rich_one_stays(api, tmp_path):
    data = make_image(tmp_path / "p.jpg", color=(150, 100, 60), size=(320, 240)).read_bytes()
    api_answer = check_original_shape(api.post("/api/predictImage", files=upload(data), headers=BROWSER))
    assert api.post("/predictImage", files=upload(data)).json() == api_answer
    raw = api.post("/api/predictImage", content=data, headers={"content-type": "image/jpeg"})
    assert raw.json() == api_answer
    rich = api.post("/v1/predict", files=upload(data)).json()["predictions"][0]
    assert rich["verdict"] == api_answer["verdict"] and len(rich["probabilities"]) == 120
    assert {k: rich[k] for k in ("breed", "name", "probability", "dog_probability", "looks_like")} == \
        {k: api_answer[k] for k in ("breed", "name", "probability", "dog_probability", "looks_like")}
    model = api.get("/v1/model").json()
    assert model["predict_image"] == {"order": "original", "classes": original_names()}


def test_a_dog_of_a_breed_it_does_not_know_gets_prediction_null(tmp_path):
    data = make_image(tmp_path / "spots.jpg", color=(240, 240, 240), size=(320, 240)).read_bytes()
    with serving(create_app(builtin_on_logits("fast", dalmatian_logits()))) as url, httpx.Client(base_url=url) as c:
        original = check_original_shape(c.post("/api/predictImage", files=upload(data)))
        rich = c.post("/v1/predict", files=upload(data)).json()["predictions"][0]
    assert original["prediction"] is None and original["breed"] is None and original["probability"] is None
    assert original["verdict"] == rich["verdict"] == "unknown_breed"
    assert original["looks_like"] == rich["looks_like"] == "Dalmatian"
    # /v1/predict names no breed for it either, and keeps the nearest known ones in top_k
    assert rich["breed"] is rich["name"] is rich["probability"] is None and rich["top_k"][0]["breed"] in BREED_IDS


def test_no_image_is_400_and_two_images_are_refused(api):
    for path in ("/api/predictImage", "/predictImage"):
        r = api.post(path, headers=BROWSER)
        assert r.status_code == 400 and r.json()["error"]["code"] == "no_image"
        assert r.headers["access-control-allow-origin"] == PAGE  # the client can read why
    two = [("image", ("a.jpg", b"x", "image/jpeg")), ("image", ("b.jpg", b"y", "image/jpeg"))]
    r = api.post("/api/predictImage", files=two)
    assert r.status_code == 400 and r.json()["error"]["code"] == "one_image_only"


def test_preflight_is_answered_for_the_allowed_origin_only(api):
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    r = api.options("/api/predictImage", headers={"Origin": PAGE, **ask})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    other = "http://127.0.0.1:3001"
    r = api.options("/api/predictImage", headers={"Origin": other, **ask})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers  # so the browser stops here
    r = api.post("/api/predictImage", headers={**BROWSER, "Origin": other}, files=upload(jpeg()))
    assert r.status_code == 200 and not cors_headers(r)


def test_without_allow_origin_there_is_no_cors_at_all(default_classifier):
    with serving(create_app(default_classifier)) as url:
        r = httpx.post(url + "/api/predictImage", files=upload(jpeg()), headers=BROWSER, timeout=60)
        assert r.status_code == 200
        assert not cors_headers(r)
        r = httpx.options(url + "/api/predictImage", headers={"Origin": PAGE, "Access-Control-Request-Method":
                                                               "POST"})
        assert r.status_code == 405 and not cors_headers(r)


def test_star_allows_any_origin(default_classifier):
    with serving(create_app(default_classifier, ServerSettings(allow_origins=("*",)))) as url:
        r = httpx.post(url + "/api/predictImage", files=upload(jpeg()),
                       headers={**BROWSER, "Origin": "http://example.test:8080"}, timeout=60)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_openapi_describes_the_original_answer(api):
    spec = api.get("/openapi.json").json()
    for path in ("/api/predictImage", "/predictImage"):
        ok = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": "#/components/schemas/OriginalAnswer"}
    schema = spec["components"]["schemas"]["OriginalAnswer"]
    assert schema["required"] == ["prediction", "results", "breed", "name", "probability", "verdict",
                                  "dog_probability", "looks_like"]
    assert {"type": "null"} in schema["properties"]["prediction"]["anyOf"]
