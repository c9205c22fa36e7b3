"""Fine-tuning augmentation, built on torchvision.transforms.v2: random resized crops (which also change the
aspect ratio), flips, small rotations, colour shifts and the odd blur, so the photos it trains on look more like
users' own (phone photos at any framing, light and focus) than the centred, well-lit ImageNet ones.

torchvision is imported only here and only when fine-tuning: the fast mode and the app itself work without
it (the CPU app bundle ships without torchvision).
"""

from __future__ import annotations

import sys

from dogbreed_desktop.core.errors import UserError
from dogbreed_desktop.core.predict.preprocess import Preprocessing


class FinetuneUnavailable(UserError, RuntimeError):
    """Fine-tuning needs torchvision, which is not installed or not usable."""


def train_transform(prep: Preprocessing, *, scale=(0.25, 1.0), rotation: float = 15.0):
    """PIL picture -> augmented PIL picture of `prep.crop` x `prep.crop` pixels."""
    try:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import v2
    except Exception as e:  # ImportError, or torchvision's compiled ops failing to load
        if getattr(sys, "frozen", False):
            remedy = "This build of the app has no torchvision (the CPU build): train in fast mode, or use the CUDA build."
        else:
            remedy = "Install it (pip install 'dogbreed-desktop[train]') or train in fast mode, which does not need it."
        raise FinetuneUnavailable(
            f"fine-tuning needs torchvision for its augmentation, and it is not usable here ({e}). {remedy}"
        ) from None
    interpolation = InterpolationMode.BICUBIC if prep.interpolation == "bicubic" else InterpolationMode.BILINEAR
    return v2.Compose([
        v2.RandomResizedCrop(prep.crop, scale=scale, interpolation=interpolation, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomRotation(rotation, interpolation=InterpolationMode.BILINEAR),
        v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 2.0))], p=0.2),
    ])

