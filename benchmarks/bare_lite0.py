"""The bar for `predict`: a bare script doing PIL decode + resize + crop + batched Lite0 forward in
channels_last, nothing else (no error handling, no output). Run as a whole process by bench_predict.py."""

import sys

import torch
from PIL import Image

from dogbreed_desktop.core.torch.backbones import build_backbone


def prep(path: str) -> torch.Tensor:
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = 256 / min(w, h)
    im = im.resize((round(w * s), round(h * s)), Image.Resampling.BICUBIC)
    w, h = im.size
    left, top = (w - 224) // 2, (h - 224) // 2
    im = im.crop((left, top, left + 224, top + 224))
    return torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(224, 224, 3).permute(2, 0, 1)


def main(paths: list[str]) -> None:
    model = build_backbone("efficientnet_lite0").to(memory_format=torch.channels_last)
    with torch.inference_mode():
        for i in range(0, len(paths), 32):
            x = torch.stack([prep(p) for p in paths[i : i + 32]]).float().div(127.5).sub(1)
            model(x.contiguous(memory_format=torch.channels_last)).softmax(1)


if __name__ == "__main__":
    main(open(sys.argv[1]).read().split())
