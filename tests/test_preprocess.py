"""Every kind of image a person might drop becomes a correct RGB tensor, and bad files become clear errors."""

import struct

import pytest
import numpy as np
from conftest import make_image
from PIL import Image

from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.core.predict.preprocess import ImageError, load_image, normalize, prepare

PREP = backbone_spec("efficientnet_lite0").preprocessing


@pytest.mark.parametrize(
    "mode,suffix",
    [("RGB", ".jpg"), ("L", ".png"), ("RGBA", ".png"), ("P", ".gif"), ("CMYK", ".jpg"), ("1", ".bmp"),
     ("LA", ".png"), ("RGB", ".webp"), ("RGB", ".tiff"), ("I;16", ".png")],
)
def test_modes_become_rgb_tensors(tmp_path, mode, suffix):
    path = make_image(tmp_path / f"x{suffix}", color=(200, 120, 40), size=(90, 60), mode=mode)
    t = prepare(path, PREP)
    assert t.dtype == np.uint8 and tuple(t.shape) == (3, 224, 224)


def test_colour_survives(tmp_path):
    t = prepare(make_image(tmp_path / "c.png", color=(200, 120, 40)), PREP)
    assert t[:, 100, 100].tolist() == [200, 120, 40]


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    values = [60000] + [30000] * (40 * 40 - 1)
    img = Image.frombytes("I;16", (40, 40), struct.pack(f"<{len(values)}H", *values))
    img.save(tmp_path / "deep.png")
    rgb = load_image(tmp_path / "deep.png")
    value = rgb.getpixel((20, 20))[0]
    assert 100 < value < 160  # 30000/60000 of full scale, not 255


def test_transparent_pixels_become_white(tmp_path):
    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(tmp_path / "t.png")
    assert load_image(tmp_path / "t.png").getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (80, 40), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert load_image(tmp_path / "r.jpg").size == (40, 80)


@pytest.mark.parametrize("size", [(1, 1), (3000, 20), (20, 3000), (4000, 3000)])
def test_any_size_and_aspect(tmp_path, size):
    t = prepare(make_image(tmp_path / "s.jpg", size=size), PREP)
    assert tuple(t.shape) == (3, 224, 224)


def test_pil_image_input():
    assert tuple(prepare(Image.new("RGB", (50, 70)), PREP).shape) == (3, 224, 224)


def test_normalize_matches_tf_style():
    batch = np.broadcast_to(np.array([0, 255], dtype=np.uint8).reshape(1, 1, 1, 2), (1, 3, 1, 2))
    out = normalize(batch, PREP)
    assert out.dtype == np.float32
    assert np.allclose(out[0, :, 0, 0], -1.0) and np.allclose(out[0, :, 0, 1], 1.0)


def _png_header(width: int, height: int) -> bytes:
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # A real PNG header claiming a huge picture, with a little pixel data: a decompression bomb's shape.
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000))


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.jpg", b"", "empty file"),
        ("text.jpg", b"this is not a picture", "not an image"),
        ("bomb.png", _png_header(60000, 60000), "too large"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImageError, match=message):
        prepare(tmp_path / name, PREP)


def test_truncated_jpeg(tmp_path):
    good = make_image(tmp_path / "g.jpg", size=(400, 300), quality=95)
    data = good.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        prepare(tmp_path / "cut.jpg", PREP)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        prepare(tmp_path / "nope.jpg", PREP)
    with pytest.raises(ImageError, match="folder"):
        prepare(tmp_path, PREP)


def test_jpeg_cut_inside_its_header(tmp_path):
    data = make_image(tmp_path / "g.jpg", size=(40, 30)).read_bytes()
    (tmp_path / "head.jpg").write_bytes(data[:30])
    with pytest.raises(ImageError, match="truncated or corrupt|not an image"):
        prepare(tmp_path / "head.jpg", PREP)
