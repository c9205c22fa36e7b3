"""Where tensors and modules live and at which precision: resolved once, used by prediction, feature
extraction and the training loop alike."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Precision:
    """The device, the autocast dtype (None = full precision) and whether images go channels_last."""

    device: torch.device
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False

    @classmethod
    def resolve(cls, device: torch.device, amp: bool = False, images: bool = True) -> "Precision":
        """bf16 (else fp16) autocast when `amp` on CUDA; channels_last for image batches on CPU and CUDA, where
        the depthwise convolutions run faster in it (2-D feature batches have no channels to move)."""
        dtype = None
        if amp and device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return cls(device, dtype, channels_last=images and device.type in ("cuda", "cpu"))

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda" and x.device.type == "cpu":
            x = x.pin_memory()  # page-locked, so the copy below can overlap with compute
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def place(self, module: nn.Module) -> nn.Module:
        """`module` moved to the device, in channels_last when images are."""
        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def grad_scaler(self):
        """Loss scaling for float16 on CUDA (bfloat16 does not need it)."""
        if self.amp_dtype == torch.float16:
            return torch.amp.GradScaler("cuda")
        return None
