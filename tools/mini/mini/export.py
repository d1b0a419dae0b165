"""ONNX export (opset 17, dynamic batch) of the encoders and the judge, with a check that
ONNX Runtime reproduces PyTorch."""
from __future__ import annotations

import os
import warnings
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 17


class ClipTextExport(nn.Module):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, input_ids, attention_mask):
        return self.text(input_ids, attention_mask)


class ClipImageExport(nn.Module):
    """Resizes any [B,3,H,W] to 64x64 (bilinear, half-pixel; identity at 64x64) first."""

    def __init__(self, image):
        super().__init__()
        self.image = image

    def forward(self, pixel_values):
        x = F.interpolate(pixel_values, size=(64, 64), mode="bilinear", align_corners=False)
        return self.image(x)


class T5Export(nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, input_ids, attention_mask):
        return self.enc(input_ids, attention_mask)


class JudgeExport(nn.Module):
    def __init__(self, judge):
        super().__init__()
        self.judge = judge

    def forward(self, images):
        x = F.interpolate(images, size=(64, 64), mode="bilinear", align_corners=False)
        return self.judge(x)


def export_onnx(module: nn.Module, args: Tuple, path: str, input_names: List[str],
                output_names: List[str], dynamic_axes: Dict) -> None:
    module = module.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True,
                          dynamo=False)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)


def check_onnx(module: nn.Module, path: str, feeds: Dict[str, np.ndarray]) -> float:
    """Max abs difference over all outputs between ONNX Runtime (CPU) and PyTorch."""
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, feeds)
    with torch.no_grad():
        ref = module.eval()(*[torch.from_numpy(v) for v in feeds.values()])
    if isinstance(ref, torch.Tensor):
        ref = (ref,)
    return float(max(np.abs(g - r.numpy()).max() for g, r in zip(got, ref)))
