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
import torch
from PIL import Image

from .artifact import atomic_write
from .preprocess import ImageSource, load_image, normalize, to_uint8_tensor

MAX_ASPECT = 3.0  # longer side at most this many crop sizes: a panorama costs no more than a few photos


class HeatmapUnavailable(Exception):
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


@torch.inference_mode()
def heatmap(classifier, source: ImageSource, class_index: int | None = None) -> Image.Image:
    """A grayscale ("L") picture the size of the upright photo: 0 = no attention, 255 = most. The class
    defaults to the top breed. Raises ImageError for unreadable photos, HeatmapUnavailable for other backbones."""
    crop_max = max(p.crop for p in classifier.preprocessings)
    img = load_image(source, draft=crop_max)
    size = _upright_size(source, img.size)
    if class_index is None:
        tensors = classifier._load(img)
        class_index = int(classifier.probabilities([t[None] for t in tensors]).argmax())
    total = None
    for net, which, mirror in classifier.nets:
        backbone = net.backbone
        if not hasattr(backbone, "feature_map"):
            raise HeatmapUnavailable(f"heatmaps need an EfficientNet-Lite backbone, not {type(backbone).__name__}")
        prep = classifier.preprocessings[which]
        x = normalize(to_uint8_tensor(_scaled(img, prep.crop))[None], prep).to(classifier.device)
        if mirror:
            x = torch.cat([x, x.flip(3)])
        fmap = backbone.feature_map(x).float()
        cam = torch.einsum("c,nchw->nhw", net.head.weight[class_index].float(), fmap)
        if mirror:
            cam = (cam[:1] + cam[1:].flip(2)) / 2
        cam = cam[0].clamp_min(0)
        cam = cam / cam.max().clamp_min(1e-8)
        if total is not None and cam.shape != total.shape:
            cam = torch.nn.functional.interpolate(cam[None, None], size=total.shape, mode="bilinear")[0, 0]
        total = cam if total is None else total + cam
    small = (total / total.max().clamp_min(1e-8)).cpu().numpy().astype(np.float32)
    big = Image.fromarray(small, mode="F").resize(size, Image.Resampling.BILINEAR)
    arr = np.asarray(big, dtype=np.float32)
    arr = arr / max(float(arr.max()), 1e-8)  # resampling can shave the peak: the most attention is 255 again
    return Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")


def save_heatmap(image: Image.Image, path: Path | str) -> Path:
    """Write the PNG atomically (tmp + rename)."""
    path = Path(path)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
    return path
