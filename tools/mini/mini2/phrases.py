"""Per-phrase text conditioning for two-object images (the [mini-3] "phrase" phases).

mini-CLIP is causal, so in a whole caption every token after the first object also carries that
object's colour, and the denoiser never learned which object goes where (MODEL_CARD, session 5).
Encoding each object's phrase on its own fixes that (structured diffusion guidance, Feng et al.
2023): `binding_probe --per-phrase` learned the binding in 300 steps. The SDK's layout step
(manifest "layout", dev.ediff.core) turns a relation prompt into exactly such phrases, each with a
cell that satisfies the relation, so the experts are trained on that input:

- each two-object training image gets two caption variants, each the two objects' phrases with
  their true cells ("a big red circle at the top left", "a small blue square on the right"), in a
  random order and wording;
- T5 and mini-CLIP encode each phrase alone in PIECE tokens (phrases are <= 11 tokens in both
  tokenizers, so nothing is cut), the two blocks side by side in the cache's 24 slots; the
  denoiser's cross-attention has no position over the context, so the SDK's 16 + 16 slots give the
  same result;
- the pooled CLIP embedding is that of the phrases joined by ", " (the SDK does the same).

One-object images keep their whole-caption encodings (one phrase = the whole prompt in the SDK).

    python -m mini2.phrases --cases ../../ediff-testkit/src/test/resources/layout/cases.json
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

from mini import data
from mini.encoders import frozen_encoders
from mini.train import log
from .cache import TOKENS, VARIANTS
from .position_probe import pair_subset

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIECE = TOKENS // 2     # slots per phrase in the cache
FILE = "phrases.pt"

# the manifest's "layout" block: the vocabulary of data.py and where the planner puts "A rel B"
PLACEMENTS = {"left": [3, 5], "right": [5, 3], "above": [1, 7], "below": [7, 1]}


def layout_block() -> dict:
    return {"grid": data.GRID, "nouns": list(data.SHAPES),
            "modifiers": [w for ws in data.SIZE_WORDS for w in ws] + list(data.COLOURS),
            "cells": [list(ps) for ps in data.CELL_PHRASES],
            "relations": {k: list(v) for k, v in data.REL_PHRASES.items()},
            "placements": PLACEMENTS}


def cell_pieces(objs, rng: np.random.Generator):
    """The two objects' phrases, each with its true cell, in a random order and wording."""
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    out = []
    for o in (objs[order[0]], objs[order[1]]):
        ps = data.CELL_PHRASES[o["cell"]]
        out.append(f"{data._obj_phrase(o, rng)} {ps[int(rng.integers(len(ps)))]}")
    return out


def encode_pieces(enc_piece, enc_whole, pieces, piece: int = PIECE):
    """Per-phrase encodings of [(a, b)]: T5 and CLIP token states + masks of each phrase alone,
    concatenated ([n, 2*piece, D]); the CLIP pooled embedding of "a, b"."""
    a = [p[0] for p in pieces]
    b = [p[1] for p in pieces]
    out = {}
    ta, tma = enc_piece.t5(a)
    tb, tmb = enc_piece.t5(b)
    ca, cma, _ = enc_piece.clip_text(a)
    cb, cmb, _ = enc_piece.clip_text(b)
    for m in (tma, tmb, cma, cmb):
        assert int(m[:, -1].max()) == 0, "a phrase fills its slots: it may have been cut"
    _, _, pooled = enc_whole.clip_text([", ".join(p) for p in pieces])
    out["t5"] = torch.cat([ta[:, :piece], tb[:, :piece]], 1)
    out["t5_mask"] = torch.cat([tma[:, :piece], tmb[:, :piece]], 1)
    out["clip"] = torch.cat([ca[:, :piece], cb[:, :piece]], 1)
    out["clip_mask"] = torch.cat([cma[:, :piece], cmb[:, :piece]], 1)
    out["clip_pooled"] = pooled
    return out


def build_side(work: str, cache) -> str:
    """work/cache/phrases.pt: per-phrase encodings of VARIANTS cell-phrase captions for every
    two-object training image (made once, ~minutes)."""
    path = os.path.join(work, "cache", FILE)
    if os.path.exists(path):
        return path
    pairs = pair_subset(cache)
    labels = data.load_split(os.path.join(HERE, "work", "full", "data", "train"))["labels"]
    enc_piece = frozen_encoders(max_len=PIECE)
    enc_whole = frozen_encoders(max_len=TOKENS)
    side = {k: [] for k in ("t5", "t5_mask", "clip", "clip_mask", "clip_pooled")}
    caps = []
    for v in range(VARIANTS):
        rng = np.random.default_rng([20261130, v])
        pieces = [cell_pieces(labels[int(i)]["objects"], rng) for i in pairs]
        caps.append([", ".join(p) for p in pieces])
        enc = {k: [] for k in side}
        for s in range(0, len(pieces), 512):
            e = encode_pieces(enc_piece, enc_whole, pieces[s:s + 512])
            for k in enc:
                enc[k].append(e[k].half() if "mask" not in k else e[k].to(torch.uint8))
        for k in side:
            side[k].append(torch.cat(enc[k]))
        log(f"phrases: variant {v}: {len(pieces)} two-object images, e.g. {caps[-1][0]!r}")
    out = {k: torch.stack(v, dim=1) for k, v in side.items()}      # [P, VARIANTS, ...]
    out.update(index=torch.from_numpy(pairs), captions=caps)
    torch.save(out, path + ".tmp")
    os.replace(path + ".tmp", path)
    return path


def apply(work: str, cache) -> None:
    """Replaces, in place, the two-object images' caption encodings in the training cache by their
    per-phrase encodings (building them first if needed)."""
    if cache.get("phrases"):
        return
    side = torch.load(build_side(work, cache), map_location="cpu", weights_only=False)
    idx = side["index"]
    for k in ("t5", "t5_mask", "clip", "clip_mask", "clip_pooled"):
        cache[k][idx] = side[k]
    for v in range(VARIANTS):
        caps = cache["captions"][v]
        for j, i in enumerate(idx.tolist()):
            caps[i] = side["captions"][v][j]
    cache["phrases"] = True
    log(f"phrases: {len(idx)} two-object images now have per-phrase encodings")


def cases(path: str) -> None:
    """Reference vectors for the SDK's layout step (ediff-testkit), from the bundle's ONNX encoders:
    for each prompt, the phrases the planner should make and the per-phrase encoding at the SDK's
    32 slots (16 per phrase)."""
    prompts = [
        ("a small red circle above a large blue square", ["a small red circle at the top", "a large blue square at the bottom"]),
        ("there is a big red triangle beneath a little orange circle",
         ["a big red triangle at the bottom", "a little orange circle at the top"]),
        ("a picture of a little green star to the left of a large white square",
         ["a little green star on the left", "a large white square on the right"]),
        ("a large purple diamond on the right of a small yellow star, two shapes",
         ["a large purple diamond on the right", "a small yellow star on the left"]),
    ]
    from mini.encoders import OnnxEncoders
    enc16 = OnnxEncoders(max_len=16)     # export/: the bundle's encoder files
    enc32 = OnnxEncoders(max_len=32)
    out = []
    for prompt, pieces in prompts:
        e = encode_pieces(enc16, enc32, [tuple(pieces)], piece=16)
        out.append({
            "prompt": prompt, "phrases": pieces,
            "clip_pooled_first8": [round(float(v), 6) for v in e["clip_pooled"][0, :8]],
            "clip_mask": [int(v) for v in e["clip_mask"][0]], "t5_mask": [int(v) for v in e["t5_mask"][0]],
            "clip_tokens": {str(s): [round(float(v), 6) for v in e["clip"][0, s, :4]] for s in (0, 1, 15, 16, 17, 31)},
            "t5_tokens": {str(s): [round(float(v), 6) for v in e["t5"][0, s, :4]] for s in (0, 1, 15, 16, 17, 31)},
        })
    doc = {"about": "tools/mini/mini2/phrases.py --cases: per-phrase encodings of the default bundle's encoders "
                    "(ONNX Runtime), 16 slots per phrase of 32; token values are the first 4 of each listed slot",
           "layout": layout_block(), "cases": out}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    log(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=None, help="write the SDK's reference vectors here")
    ap.add_argument("--build", action="store_true", help="build work/mini2/cache/phrases.pt")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.cases:
        cases(args.cases)
    if args.build:
        work = os.path.join(HERE, "work", "mini2")
        cache = torch.load(os.path.join(work, "cache", "cache.pt"), map_location="cpu", weights_only=False)
        build_side(work, cache)


if __name__ == "__main__":
    main()
