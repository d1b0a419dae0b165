"""Frozen mini encoders for Python users (the [mini-2] denoiser training): loads the trained
PyTorch checkpoints from work/full/ (or the exported ONNX files with onnxruntime) and gives the
same outputs as the exported graphs.

    from mini.encoders import FrozenEncoders
    enc = FrozenEncoders()                       # PyTorch, from tools/mini/work/full/*.pt
    tok, mask, pooled = enc.clip_text(["a small red circle"])      # [B,77,128], [B,77], [B,128]
    t5, t5_mask = enc.t5(["a small red circle"])                     # [B,77,128], [B,77]
    img = enc.clip_image(images_u8)              # uint8 [B,64,64,3] (or [B,32,32,3]) -> [B,128]
"""
from __future__ import annotations

import os
from typing import List, Tuple

import numpy as np
import torch

from . import toks
from . import train as tr
from .models import MiniClip, MiniT5MLM

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FrozenEncoders:
    def __init__(self, work: str = os.path.join(HERE, "work", "full"), export: str = os.path.join(HERE, "export"),
                 max_len: int = toks.CLIP_MAX_LEN):
        from tokenizers import Tokenizer
        from .build import FULL
        self.max_len = max_len
        self.ctok = Tokenizer.from_file(os.path.join(export, "clip", "tokenizer.json"))
        self.ttok = Tokenizer.from_file(os.path.join(export, "t5", "tokenizer.json"))
        remap = toks.clip_remap(self.ctok)
        self.clip = MiniClip(torch.from_numpy(remap["table"]), len(remap["clip_ids"]) + 1,
                             embed=FULL["clip"]["embed"])
        self.clip.load_state_dict(torch.load(os.path.join(work, "clip.pt"), map_location="cpu",
                                             weights_only=False)["model"])
        c = FULL["t5"]
        t5 = MiniT5MLM(self.ttok.get_vocab_size(), d=c["d_model"], layers=c["layers"], heads=c["heads"],
                       d_ff=c["d_ff"])
        t5.load_state_dict(torch.load(os.path.join(work, "t5.pt"), map_location="cpu", weights_only=False)["model"])
        self.t5_encoder = t5.encoder.eval()
        self.clip.eval()
        for p in list(self.clip.parameters()) + list(self.t5_encoder.parameters()):
            p.requires_grad_(False)

    @torch.no_grad()
    def clip_text(self, texts: List[str]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids, mask = toks.clip_encode_batch(self.ctok, texts, self.max_len)
        tok, pooled = self.clip.text(torch.from_numpy(ids), torch.from_numpy(mask))
        return tok, torch.from_numpy(mask), pooled

    @torch.no_grad()
    def t5(self, texts: List[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        ids, mask = toks.t5_encode_batch(self.ttok, texts, self.max_len)
        return self.t5_encoder(torch.from_numpy(ids), torch.from_numpy(mask)), torch.from_numpy(mask)

    @torch.no_grad()
    def clip_image(self, images_u8: np.ndarray) -> torch.Tensor:
        x = tr.images_to_float(torch.from_numpy(np.ascontiguousarray(images_u8)))
        if x.shape[-1] != 64:
            x = torch.nn.functional.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
        return self.clip.image(tr.clip_normalize(x))


class OnnxEncoders:
    """The same interface as FrozenEncoders, computed by ONNX Runtime from the committed graphs in
    export/ (what the SDK runs). Used when the PyTorch checkpoints under work/full/ are absent
    (they are git-ignored; a fresh checkout has only the ONNX files)."""

    def __init__(self, export: str = os.path.join(HERE, "export"), max_len: int = toks.CLIP_MAX_LEN,
                 threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer
        self.max_len = max_len
        self.ctok = Tokenizer.from_file(os.path.join(export, "clip", "tokenizer.json"))
        self.ttok = Tokenizer.from_file(os.path.join(export, "t5", "tokenizer.json"))
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1

        def sess(p):
            return ort.InferenceSession(os.path.join(export, p), so, providers=["CPUExecutionProvider"])
        self.s_clip, self.s_t5, self.s_img = (sess("clip/text_encoder.onnx"), sess("t5/encoder.onnx"),
                                              sess("clip/image_encoder.onnx"))

    def clip_text(self, texts: List[str]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids, mask = toks.clip_encode_batch(self.ctok, texts, self.max_len)
        tok, pooled = self.s_clip.run(["last_hidden_state", "text_embeds"], {"input_ids": ids, "attention_mask": mask})
        return torch.from_numpy(tok), torch.from_numpy(mask), torch.from_numpy(pooled)

    def t5(self, texts: List[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        ids, mask = toks.t5_encode_batch(self.ttok, texts, self.max_len)
        tok, = self.s_t5.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        return torch.from_numpy(tok), torch.from_numpy(mask)

    def clip_image(self, images_u8: np.ndarray) -> torch.Tensor:
        x = tr.clip_normalize(tr.images_to_float(torch.from_numpy(np.ascontiguousarray(images_u8)))).numpy()
        emb, = self.s_img.run(["image_embeds"], {"pixel_values": x})
        return torch.from_numpy(emb)


def frozen_encoders(max_len: int = toks.CLIP_MAX_LEN):
    """PyTorch encoders if their checkpoints exist, else the committed ONNX graphs."""
    if os.path.exists(os.path.join(HERE, "work", "full", "t5.pt")):
        return FrozenEncoders(max_len=max_len)
    return OnnxEncoders(max_len=max_len)
