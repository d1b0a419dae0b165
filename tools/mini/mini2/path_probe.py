"""Experiment (not part of the build): which conditioning path carries a stated cell? On 200
one-object test images, the denoising error of a phase's EMA weights with the true caption, with
a caption naming another cell, and with one input at a time (pooled CLIP, CLIP tokens, T5 tokens)
taken from the wrong caption (MODEL_CARD, session 5).

    python -m mini2.path_probe [PHASE] [--colour]    # default m3_high2; --colour: the wrong caption
                                                     # names another colour instead of another cell
"""
from __future__ import annotations

import os
import sys

import torch

from mini.encoders import frozen_encoders
from .evaluate import load
from .position_probe import conditioning, one_object_captions, test_images

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    torch.set_num_threads(1)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    colour = "--colour" in sys.argv
    m, _ = load(os.path.join(HERE, "work", "mini2"), args[0] if args else "m3_high2")
    labels, x = test_images(1)
    true, wrong = one_object_captions(labels, "colour" if colour else "cell")
    enc = frozen_encoders(max_len=32)
    ct, cw = conditioning(enc, true), conditioning(enc, wrong)

    def mix(a, b, keys):   # a, with `keys` taken from b
        return {k: (b[k] if k in keys else a[k]) for k in a}
    variants = {
        "true": ct, "wrong": cw,
        "true tokens, wrong pooled": mix(ct, cw, {"clip_pooled"}),
        "wrong tokens, true pooled": mix(cw, ct, {"clip_pooled"}),
        "true, pooled zero": dict(ct, clip_pooled=torch.zeros_like(ct["clip_pooled"])),
        "true clip tokens, wrong t5": mix(ct, cw, {"t5_tokens"}),
        "true t5, wrong clip tokens+pooled": mix(cw, ct, {"t5_tokens"}),
    }
    for s in (4.0, 8.0):
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
        sig = torch.full((x.shape[0],), s)
        with torch.no_grad():
            print(s, {k: round(((m(x + s * noise, sig, c) - x) ** 2).mean().item(), 4) for k, c in variants.items()})


if __name__ == "__main__":
    main()
