"""The CLI contract other tools rely on: output format and exit codes, run as a real process."""

import json
import subprocess
import sys

import pytest
from conftest import make_image


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "dogbreed_desktop", *map(str, args)],
                          capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    make_image(d / "one.jpg", color=(180, 140, 90), size=(300, 200))
    make_image(d / "sub" / "two.png", color=(60, 60, 60), size=(90, 120))
    (d / "sub" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    (d / "readme.txt").write_text("not scanned: not an image suffix")
    return d


def test_json_lines_with_errors_and_exit_1(photos):
    r = run_cli("predict", "--json", "--top-k", "4", photos, photos / "missing.jpg")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(photos / "one.jpg"), str(photos / "sub" / "broken.jpg"),
                                             str(photos / "sub" / "two.png"), str(photos / "missing.jpg")]
    ok = [row for row in rows if "error" not in row]
    assert len(ok) == 2
    for row in ok:
        assert set(row) == {"path", "verdict", "breed", "name", "probability", "dog_probability", "looks_like",
                            "top_k"}
        assert row["verdict"] in ("breed", "unsure", "not_a_dog", "unknown_breed") and 0 <= row["dog_probability"] <= 1
        assert (row["looks_like"] is not None) == (row["verdict"] in ("not_a_dog", "unknown_breed"))
        assert len(row["top_k"]) == 4
        if row["verdict"] in ("breed", "unsure"):  # the contract: a breed only where the verdict names one
            assert row["top_k"][0] == {k: row[k] for k in ("breed", "name", "probability")}
        else:
            assert row["breed"] is row["name"] is row["probability"] is None
        assert set(row["top_k"][0]) == {"breed", "name", "probability"}
        probs = [t["probability"] for t in row["top_k"]]
        assert probs == sorted(probs, reverse=True)
    errors = {row["path"]: row["error"] for row in rows if "error" in row}
    assert errors[str(photos / "missing.jpg")] == "file not found"
    assert set(errors[str(photos / "sub" / "broken.jpg")].split()) & {"corrupt", "image"}


def test_all_120_and_exit_0(photos):
    r = run_cli("predict", "--json", "--top-k", "120", photos / "one.jpg")
    assert r.returncode == 0
    row = json.loads(r.stdout)
    assert len(row["top_k"]) == 120 and abs(sum(t["probability"] for t in row["top_k"]) - 1) < 1e-3


def test_usage_errors_exit_2(photos, tmp_path):
    assert run_cli("predict").returncode == 2
    assert run_cli("predict", "--top-k", "0", photos / "one.jpg").returncode == 2
    bad_model = tmp_path / "evil.safetensors"
    bad_model.write_bytes(b"\x80\x04garbage")
    r = run_cli("predict", "--model", bad_model, photos / "one.jpg")
    assert r.returncode == 2 and "never unpickles" in r.stderr and "Traceback" not in r.stderr


def test_predict_names_the_breed_of_real_photos(real_photos):
    picks = real_photos[::100]  # 6 breeds
    r = run_cli("predict", *[p for p, _ in picks])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(picks)
    from dogbreed_desktop.core.breeds import breed

    hits = sum(breed(b).name in line for line, (_, b) in zip(lines, picks))
    assert hits >= 5, r.stdout


def test_evaluate_on_real_data(real_data):
    r = run_cli("evaluate", "--data", real_data, "--per-class", "1", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["n"] == 120 and rep["top1"] > 0.7 and rep["top5"] > rep["top1"]
    assert 0 <= rep["ece"] < 0.2 and rep["log_loss"] > 0
    assert len(rep["per_class_accuracy"]) == 120 and isinstance(rep["most_confused"], list)


def test_evaluate_folder_per_class_with_readable_report(tmp_path):
    for cls in ("golden_retriever", "n02085620-Chihuahua"):
        make_image(tmp_path / cls / "a.jpg", size=(80, 80))
    (tmp_path / "n02085620-Chihuahua" / "bad.jpg").write_bytes(b"")
    r = run_cli("evaluate", "--data", tmp_path)
    assert r.returncode == 1  # one unreadable file
    assert "top-1:" in r.stdout and "images scored" in r.stdout and "unreadable:" in r.stdout


def test_evaluate_says_which_labelled_photos_it_could_not_find(tmp_path):
    """labels.csv rows whose photo is not in train/ are not scored: evaluate says so, not silently fewer photos."""
    make_image(tmp_path / "train" / "a.jpg", size=(80, 80))
    (tmp_path / "labels.csv").write_text("id,breed\na,golden_retriever\ngone,beagle\nalso_gone,pug\n")
    r = run_cli("evaluate", "--data", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 label(s) in labels.csv without an image in train/, e.g. gone" in r.stdout
    rep = json.loads(run_cli("evaluate", "--data", tmp_path, "--json").stdout)
    assert rep["n"] == 1 and any("without an image" in note for note in rep["notes"])


def split_set(root):
    """train/ + test/, one folder per breed: 3 photos to train on, 1 held out."""
    for part, cls, name in (("train", "golden_retriever", "a"), ("train", "golden_retriever", "b"),
                            ("train", "beagle", "c"), ("test", "beagle", "d")):
        make_image(root / part / cls / f"{name}.jpg", size=(80, 80))
    return root


def test_evaluate_scores_a_split_sets_held_out_photos_as_the_evaluate_tab_does(tmp_path):
    """Scoring train/ too would flatter a model trained on it; the window's report must match the CLI's."""
    from dogbreed_desktop.gui.evaluate.tasks import photos_to_evaluate

    split_set(tmp_path)
    rep = json.loads(run_cli("evaluate", "--data", tmp_path, "--json").stdout)
    items, description = photos_to_evaluate(tmp_path / "model.safetensors", str(tmp_path))
    assert rep["n"] == len(items) == 1 and rep["photos"] == "held-out test/ only"
    assert description == f"{tmp_path} (held-out test/ only)"
    r = run_cli("evaluate", "--data", tmp_path)
    assert r.returncode == 0 and "photos:   held-out test/ only" in r.stdout, r.stderr
    assert json.loads(run_cli("evaluate", "--data", tmp_path, "--json", "--subset", "all").stdout)["n"] == 4
    assert json.loads(run_cli("evaluate", "--data", tmp_path, "--json", "--subset", "train").stdout)["n"] == 3


def test_evaluate_subset_test_names_the_held_out_part_and_a_wrong_subset_is_a_usage_error(tmp_path):
    split_set(tmp_path / "split")
    rep = json.loads(run_cli("evaluate", "--data", tmp_path / "split", "--json", "--subset", "test").stdout)
    assert rep["n"] == 1 and rep["photos"] == "held-out test/ only"
    r = run_cli("evaluate", "--data", tmp_path / "split", "--subset", "tset")
    assert r.returncode == 2 and "invalid choice: 'tset'" in r.stderr and len(r.stderr.splitlines()) == 1
    make_image(tmp_path / "folders" / "beagle" / "a.jpg", size=(80, 80))
    r = run_cli("evaluate", "--data", tmp_path / "folders", "--subset", "train")
    assert r.returncode == 2 and "is not split into train/ and test/" in r.stderr, r.stderr


def test_evaluate_not_dogs_says_when_the_folder_held_no_photos(tmp_path):
    make_image(tmp_path / "dogs" / "beagle" / "a.jpg", size=(80, 80))
    (tmp_path / "empty").mkdir()
    r = run_cli("evaluate", "--data", tmp_path / "dogs", "--not-dogs", tmp_path / "empty")
    assert r.returncode == 0, r.stderr
    assert f"non-dog photos: none scored, {tmp_path / 'empty'}: it holds no photos" in r.stdout.splitlines()
    rep = json.loads(run_cli("evaluate", "--data", tmp_path / "dogs", "--not-dogs", tmp_path / "empty", "--json").stdout)
    assert rep["not_dogs"]["n"] == 0 and rep["not_dogs"]["note"] == "it holds no photos"


def test_help_lists_subcommands():
    r = run_cli("--help")
    assert r.returncode == 0 and "predict" in r.stdout and "evaluate" in r.stdout


def test_the_table_says_a_dog_of_a_breed_it_does_not_know():
    from dogbreed_desktop.cli.predict import table_line
    from dogbreed_desktop.core.predict.classifier import BreedScore, Prediction

    top = (BreedScore("great_dane", "Great Dane", 0.68),)
    r = Prediction("spots.jpg", (0.68,), top, 0.99, "unknown_breed", "Dalmatian")
    assert table_line(r, 10) == "spots.jpg   a dog, not a breed I know (looks like: Dalmatian)"


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "kaggle"])
def test_a_reader_that_stops_early_ends_it_quietly(photos, fmt):
    """`predict ... | head -1`: once the reader has gone, no BrokenPipeError traceback, only the shell's 141."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line, as `head` is after its last
    try:
        r = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "predict", "--format", fmt, str(photos)],
                           stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)
    assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, r.stderr
    assert r.returncode == 141
