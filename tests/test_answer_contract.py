"""One contract for a verdict (core/predict/answers.py), where people read it: `predict --json`, `--format csv`
and `--format kaggle`, `/v1/predict` and the original API, on real photos through the real model. A cat has no
breed in `breed` anywhere; the nearest breeds stay in `top_k`; a submission file has the competition's 121
columns and rows that sum to 1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from server_support import serving

from dogbreed_desktop.cli import main
from dogbreed_desktop.core.breeds import BREED_IDS
from dogbreed_desktop.core.errors import UserError
from dogbreed_desktop.core.predict.answers import kaggle_order
from dogbreed_desktop.server import create_app

NUMBERS = ("probability", "dog_probability")


@pytest.fixture(scope="module")
def cat_and_dog(real_data, real_photos):
    from training.holdout import not_dogs_dir, not_dogs_split

    folder = not_dogs_dir(real_data)
    if not (folder / "manifest.csv").is_file():
        pytest.skip("the not-dogs folder is not beside DOGBREED_DATA")
    cat = next(p for p, c in not_dogs_split(folder)["heldout"] if c == "cat")
    return cat, real_photos[0][0]


def same_answer(a: dict, b: dict) -> None:
    assert {k: a[k] for k in ("verdict", "breed", "name", "looks_like")} == \
        {k: b[k] for k in ("verdict", "breed", "name", "looks_like")}
    for k in NUMBERS:
        assert (a[k] is None) == (b[k] is None) and (a[k] is None or abs(a[k] - b[k]) <= 2e-6)
    assert [s["breed"] for s in a["top_k"]] == [s["breed"] for s in b["top_k"]]


@pytest.mark.realdata
def test_a_cat_names_no_breed_in_predict_nor_in_the_api(cat_and_dog, default_classifier, capsys):
    cat, dog = cat_and_dog
    assert main(["predict", "--json", "--top-k", "5", str(cat), str(dog)]) == 0
    cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["predict", "--format", "csv", "--top-k", "5", str(cat), str(dog)]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    with serving(create_app(default_classifier)) as url, httpx.Client(base_url=url, timeout=120) as client:
        r = client.post("/v1/predict", files=[("image", (p.name, p.read_bytes(), "image/jpeg")) for p in (cat, dog)])
        original = client.post("/api/predictImage", files={"image": ("cat.jpg", cat.read_bytes(), "image/jpeg")})
    served = r.json()["predictions"]
    kitty, doggy = cli
    assert kitty["verdict"] == "not_a_dog" and kitty["looks_like"]
    assert kitty["breed"] is None and kitty["name"] is None and kitty["probability"] is None
    assert len(kitty["top_k"]) == 5 and all(s["breed"] in BREED_IDS for s in kitty["top_k"])  # nearest breeds kept
    assert doggy["verdict"] in ("breed", "unsure") and doggy["breed"] == doggy["top_k"][0]["breed"]  # named
    for row, answer in zip(cli, served, strict=True):
        same_answer(row, answer)
        assert set(row) - {"path"} == set(answer) - {"file", "probabilities"}
    # the CSV is the same answer flattened: a verdict column, and no breed for the cat
    assert [t["verdict"] for t in table] == ["not_a_dog", doggy["verdict"]]
    assert table[0]["breed"] == table[0]["name"] == table[0]["probability"] == ""
    assert table[0]["breed_1"] == kitty["top_k"][0]["breed"] and table[1]["breed"] == doggy["breed"]
    body = original.json()  # the original shape, its values from the same serialiser
    assert body["prediction"] is None and body["verdict"] == "not_a_dog"
    assert {k: body[k] for k in ("breed", "name", "probability", "dog_probability", "looks_like")} == \
        {k: served[0][k] for k in ("breed", "name", "probability", "dog_probability", "looks_like")}


@pytest.mark.realdata
def test_kaggle_submission_of_a_folder(real_photos, real_labels, tmp_path, capsys):
    folder = tmp_path / "test"
    folder.mkdir()
    photos = [p for p, _ in real_photos[::30]]  # 20 photos of 20 breeds
    for p in photos:
        (folder / p.name).symlink_to(p)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    assert main(["predict", "--format", "kaggle", str(folder)]) == 1  # one photo could not be read
    out = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(out.out)))
    assert rows[0] == ["id", *sorted(BREED_IDS)] and len(rows[0]) == 121
    assert sorted(r[0] for r in rows[1:]) == sorted(p.stem for p in photos)  # the broken photo has no row...
    assert [line for line in out.err.splitlines() if "broken.jpg" in line]  # ...and is named on stderr
    for r in rows[1:]:
        values = [float(v) for v in r[1:]]
        assert len(r) == 121 and all(0 <= v <= 1 for v in values) and abs(sum(values) - 1) < 1e-9
    # each row's largest column is the breed `predict --json` names first, and mostly the true breed
    assert main(["predict", "--json", *map(str, photos)]) == 0
    lines = capsys.readouterr().out.splitlines()
    first = {Path(j["path"]).stem: j["top_k"][0]["breed"] for j in map(json.loads, lines)}
    best = {r[0]: rows[0][1 + max(range(120), key=lambda i: float(r[1 + i]))] for r in rows[1:]}
    assert best == first
    assert sum(best[p.stem] == real_labels[p.stem] for p in photos) >= 15


def test_a_submission_needs_the_120_breeds():
    assert len(kaggle_order(list(reversed(BREED_IDS)))) == 120
    with pytest.raises(UserError, match="120 breeds"):
        kaggle_order(["circle", "square"])


def test_a_submission_writes_each_id_once(tmp_path, capsys):
    """Two photos of one name in different folders (or one photo given twice) share a Kaggle id, and Kaggle
    refuses a file that repeats one: the first is written, each repeat is named on stderr."""
    from PIL import Image

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (64, 48), (120, 90, 60)).save(tmp_path / folder / "same.jpg")
    first, second = tmp_path / "a" / "same.jpg", tmp_path / "b" / "same.jpg"
    assert main(["predict", "--format", "kaggle", str(first), str(second), str(first)]) == 0
    out = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(out.out)))
    assert [r[0] for r in rows[1:]] == ["same"]
    skipped = [line for line in out.err.splitlines() if "skipped" in line]
    assert len(skipped) == 2 and all("same" in line and str(first) in line for line in skipped), out.err
