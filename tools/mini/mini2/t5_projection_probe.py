"""Experiment (not part of the build): is T5 unused because its states cannot drive the
cross-attention, or because training never asked? Fine-tunes ONLY the T5 input projection
(LayerNorm + Linear, 16,768 parameters; everything else frozen) of a trained expert on T5-only
batches (CLIP text always off), then compares the denoising error with T5 only, T5 taken from
another caption, and no text (mini2.diagnose_t5 measures the same on the unchanged model).

    python -m mini2.t5_projection_probe --parent e2_mid --steps 60
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from mini.encoders import frozen_encoders
from mini.train import log
from .build import MODELS, SHIFT
from .cache import Batches
from .diagnose_t5 import conds, errors, test_batch
from .evaluate import load
from .train import sample_sigma
from .unet import SIGMA_DATA

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parent", default="e2_mid")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lo", type=float, default=0.5)
    ap.add_argument("--hi", type=float, default=8.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = os.path.join(HERE, "work", "mini2")
    model, _ = load(work, args.parent)
    x, caps = test_batch(200)
    cs = conds(frozen_encoders(max_len=24), caps)
    perm = torch.roll(torch.arange(len(caps)), 1)
    b = cs["both"]
    cs = {"t5_only": cs["t5_only"], "t5_other_caption": dict(cs["t5_only"], t5_tokens=b["t5_tokens"][perm],
                                                              t5_mask=b["t5_mask"][perm]), "none": cs["none"]}
    before = errors(model, x, cs, sigmas=(1.0, 2.0, 4.0))
    cache = torch.load(os.path.join(work, "cache", "cache.pt"), map_location="cpu", weights_only=False)
    batches = Batches(cache, seed=5)
    for p in model.parameters():
        p.requires_grad_(False)
    params = list(model.net.text.t5.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=1e-3)
    model.train()
    for step in range(args.steps):
        bt = batches.get(step, 64, p_uncond=0.0, p_t5=0.0, p_clip=1.0)
        x0 = bt.pop("x0")
        g = torch.Generator().manual_seed(bt.pop("_gen_seed"))
        sig = torch.from_numpy(sample_sigma(np.random.default_rng([5, step]), 64, args.lo, args.hi, "loguniform")).float()
        s = sig[:, None, None, None]
        den = model(x0 + s * torch.randn(x0.shape, generator=g), sig, bt)
        loss = ((s * s + SIGMA_DATA ** 2) / (s * SIGMA_DATA) ** 2 * (den - x0) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 20 == 0:
            log(f"t5 projection probe step {step + 1} loss {loss.item():.4f}")
    model.eval()
    after = errors(model, x, cs, sigmas=(1.0, 2.0, 4.0))
    print(json.dumps({"parent": args.parent, "steps": args.steps, "trained_params": sum(p.numel() for p in params),
                      "before": before, "after": after}))


if __name__ == "__main__":
    main()
