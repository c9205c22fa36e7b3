"""Where the model looked: a class activation map for one photo and one breed.

Our heads are linear over the mean-pooled last conv stage, so Grad-CAM's channel weights (the spatial mean of
d logit / d activation) are exactly the head's row for that breed divided by the map size: Grad-CAM here is
ReLU(w_c . A[:, i, j]) and needs no backward pass. The whole photo is scaled so its shorter side is the model's
crop size (no centre crop, so the map covers the frame), each member (and its mirror image, when the member
uses it) gives a map, and their mean is upsampled to the photo's own size (after EXIF rotation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from ..files import atomic_write
from .preprocess import ImageSource, load_image, normalize, to_uint8_array

MAX_ASPECT = 3.0  # longer side at most this many crop sizes: a panorama costs no more than a few photos


class HeatmapUnavailable(UserError):
    """This model's backbone does not expose its last conv stage."""


def _upright_size(source: ImageSource, fallback: tuple[int, int]) -> tuple[int, int]:
    if isinstance(source, Image.Image):
        return fallback
    try:
        with Image.open(source) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112)
    except Exception:  # the model's decode succeeded; keep its size
        return fallback
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _scaled(img: Image.Image, crop: int) -> Image.Image:
    w, h = img.size
    s = crop / min(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    nw, nh = min(nw, int(crop * MAX_ASPECT)), min(nh, int(crop * MAX_ASPECT))
    return img.resize((nw, nh), Image.Resampling.BICUBIC)


def heatmap(classifier, source: ImageSource, class_index: int | None = None) -> Image.Image:
    """A grayscale ("L") picture the size of the upright photo: 0 = no attention, 255 = most. The class
    defaults to the top breed. Raises ImageError for unreadable photos, HeatmapUnavailable for other backbones."""
    arr = heatmap_values(classifier, source, class_index)
    return Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")


def heatmap_values(classifier, source: ImageSource, class_index: int | None = None) -> np.ndarray:
    """The map as float32 in [0, 1] (H x W of the upright photo), before it becomes a picture."""
    crop_max = max(p.crop for p in classifier.preprocessings)
    img = load_image(source, draft=crop_max)
    size = _upright_size(source, img.size)
    if class_index is None:
        views = classifier.prepare(img)
        class_index = int(classifier.probabilities([v[None] for v in views]).argmax())
    total = None
    for i, member in enumerate(classifier.members):
        prep = classifier.preprocessings[member.prep]
        x = normalize(to_uint8_array(_scaled(img, prep.crop))[None], prep)
        if member.mirror:
            x = np.concatenate([x, x[..., ::-1]])
        fmap = classifier.engine.run(i, x, feature_map=True).feature_map
        if fmap is None:
            raise HeatmapUnavailable(f"heatmaps need an EfficientNet-Lite backbone, not {member.artifact.backbone}")
        cam = np.einsum("c,nchw->nhw", member.weight[:, class_index], fmap.astype(np.float32))
        if member.mirror:
            cam = (cam[:1] + cam[1:, :, ::-1]) / 2
        cam = np.maximum(cam[0], 0)
        cam = cam / max(float(cam.max()), 1e-8)
        if total is not None and cam.shape != total.shape:
            cam = _resize_map(cam, total.shape)
        cam = cam * classifier.model.member_weights[i]  # each member's share as in the breed logits
        total = cam if total is None else total + cam
    small = (total / max(float(total.max()), 1e-8)).astype(np.float32)
    big = Image.fromarray(small, mode="F").resize(size, Image.Resampling.BILINEAR)
    arr = np.asarray(big, dtype=np.float32)
    return arr / max(float(arr.max()), 1e-8)  # resampling can shave the peak: the most attention is 1 again


def _resize_map(cam: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A member's map at another member's map size (bilinear), so the maps of an ensemble can be added."""
    out = Image.fromarray(cam.astype(np.float32), mode="F").resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float32)


def save_heatmap(image: Image.Image, path: Path | str) -> Path:
    """Write the PNG atomically (tmp + rename)."""
    path = Path(path)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
    return path
