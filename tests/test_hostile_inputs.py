"""Hostile photos and file names for `predict` and `evaluate`: extreme aspect ratios in bounded memory,
files that are not files, names that are not UTF-8 on strict terminals, escape codes, valid JSON always."""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import make_image
from hostile_support import assert_clean, cli, good_metadata, good_tensors, peak_mb, run_limited, write_model
from PIL import Image

from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.core.predict.classifier import collect_images
from dogbreed_desktop.core.predict.preprocess import ImageError, prepare

PREP = backbone_spec("efficientnet_lite0").preprocessing
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFOs, /dev/zero and byte file names")


@pytest.mark.parametrize("size", [(1, 100_000), (100_000, 1), (3, 60_000)])
def test_a_strip_is_prepared_in_bounded_memory(tmp_path, size):
    path = tmp_path / "strip.png"
    Image.new("RGB", size, (200, 100, 50)).save(path)
    proc = run_limited(f"""
        from dogbreed_desktop.core.predict.preprocess import prepare
        from dogbreed_desktop.core.model.specs import BACKBONES
        t = prepare({str(path)!r}, BACKBONES["efficientnet_lite0"].preprocessing)
        assert tuple(t.shape) == (3, 224, 224) and t[:, 112, 112].tolist() == [200, 100, 50], t[:, 112, 112]
    """, limit_mb=1500)
    assert proc.returncode == 0, proc.stderr
    assert peak_mb(proc) < 200  # the old shorter-side resize made 256 x 25,600,000 pixels (~30 GB)


def test_big_images_decode_within_the_pixel_budget(tmp_path):
    """A 12,000 x 9,000 PNG (108 MP, 400 KB on disk): decoded once, shrunk before any conversion."""
    path = tmp_path / "big.png"
    Image.new("L", (12_000, 9_000), 90).save(path)
    proc = run_limited(f"""
        from dogbreed_desktop.core.predict.preprocess import prepare
        from dogbreed_desktop.core.model.specs import BACKBONES
        t = prepare({str(path)!r}, BACKBONES["efficientnet_lite0"].preprocessing)
        assert t[:, 5, 5].tolist() == [90, 90, 90]
    """, limit_mb=1500)
    assert proc.returncode == 0, proc.stderr
    assert peak_mb(proc) < 600


@linux
def test_files_that_are_not_files_get_the_right_words(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    expect = {"pipe.jpg": "named pipe", "zero.jpg": "device", "loop.jpg": "link loop",
              "dangling.jpg": "broken symbolic link"}
    for name, words in expect.items():
        with pytest.raises(ImageError, match=words):
            prepare(tmp_path / name, PREP)  # returns at once: a FIFO is never opened, /dev/zero never read


def test_folder_scans_accept_what_single_files_accept(tmp_path):
    make_image(tmp_path / "a" / "x.jpg")
    Image.new("RGB", (40, 30), (10, 200, 10)).save(tmp_path / "a" / "y.avif")
    (tmp_path / "a" / "z.heic").write_bytes(b"\0\0\0\x18ftypheic")  # listed, then reported per file
    (tmp_path / "a" / ".hidden.jpg").write_bytes(b"")
    found = [p.name for p in collect_images([tmp_path])]
    assert found == ["x.jpg", "y.avif", "z.heic"]
    assert tuple(prepare(tmp_path / "a" / "y.avif", PREP).shape) == (3, 224, 224)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads any folder")
def test_an_unreadable_subfolder_is_reported(tmp_path):
    make_image(tmp_path / "ok" / "x.jpg")
    locked = tmp_path / "locked"
    make_image(locked / "y.jpg")
    locked.chmod(0)
    try:
        proc = cli("predict", tmp_path)
        out = assert_clean(proc, 1)
        assert "locked" in out and "cannot be read" in out
    finally:
        locked.chmod(0o755)


@linux
@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_odd_names_print_on_strict_terminals_and_json_stays_valid(tmp_path, encoding):
    folder = tmp_path / "photos"
    folder.mkdir()
    make_image(folder / os.fsdecode(b"caf\xe9-latin1.png"))  # not UTF-8: a real name from an old disk
    make_image(folder / "\u732b-cat.png")  # fine in UTF-8, not in cp1252
    make_image(folder / "esc\x1b[31m-red.png")
    (folder / os.fsdecode(b"broken-\xff.png")).write_bytes(b"not a png")
    proc = cli("predict", folder, encoding=encoding)
    out = assert_clean(proc, 1)
    lines = proc.stdout.decode(encoding, "strict").splitlines()
    assert len(lines) == 4  # every row printed: none lost to an encoding error
    assert "\x1b" not in proc.stdout.decode(encoding) and "\\x1b" in out
    assert any("caf\\xe9" in line for line in lines)

    proc = cli("predict", "--json", folder, encoding=encoding)
    assert_clean(proc, 1)
    rows = [json.loads(line) for line in proc.stdout.decode(encoding).splitlines()]
    assert len(rows) == 4
    for row in rows:  # strict JSON: valid Unicode throughout, no lone surrogates
        json.dumps(row, ensure_ascii=False).encode("utf-8", "strict")
    assert {r["path"].rsplit("/", 1)[-1] for r in rows} >= {"caf\\xe9-latin1.png", "broken-\\xff.png"}


def test_class_names_with_escape_codes_never_reach_the_terminal(tmp_path):
    """The model file refuses them; file names with them are printed escaped (see above)."""
    meta = good_metadata(classes=["alpha", "\x1b]0;pwned\x07", "gamma"])
    model = write_model(tmp_path / "m.safetensors", meta, good_tensors())
    make_image(tmp_path / "p.png")
    proc = cli("predict", "--model", model, tmp_path / "p.png")
    out = assert_clean(proc, 2)
    assert "\x1b" not in out and "control characters" in out


def test_evaluate_with_no_known_labels_is_an_error_not_nan(tmp_path):
    for cls in ("zebra", "okapi"):
        for i in range(2):
            make_image(tmp_path / "set" / cls / f"{i}.png", color=(i * 50, 80, 120))
    proc = cli("evaluate", "--data", tmp_path / "set")
    out = assert_clean(proc, 2)
    assert "knows none of the labels" in out and "nan" not in out.lower()
    proc = cli("evaluate", "--data", tmp_path / "set", "--json")
    assert_clean(proc, 2)
    assert proc.stdout.strip() == b""


def test_warnings_stay_off_stderr(tmp_path):
    # Past 89 MP Pillow warns "could be decompression bomb"; within our budget the user sees the result only.
    Image.new("L", (9500, 9500), 90).save(tmp_path / "big.png")
    proc = cli("predict", tmp_path / "big.png")
    assert_clean(proc, 0)
    assert b"Warning" not in proc.stderr, proc.stderr
