"""Experiment (not part of the build): does the base denoiser learn to use position words when
trained only on captions that state one? Fine-tunes a copy of `pretrain2` for --steps on the
one-object images whose both cached captions state the cell, then compares the denoising error
with the true caption, with the position phrase swapped for another cell, and without text, on
200 one-object test images (the check of MODEL_CARD, "What the table says").

    python -m mini2.position_probe --steps 300 [--sigma 2,40]
    python -m mini2.position_probe --check e1_high m3_high      # only the check, on trained phases
    python -m mini2.position_probe --pairs --parent m3_high3 --steps 300 --sigma 2,40   # relations: pairs only
"""
from __future__ import annotations

import argparse
import os
import re

import numpy as np
import torch
import torch.nn.functional as F

from mini import data
from mini.encoders import frozen_encoders
from mini.train import log
from .build import MODELS, SHIFT
from .evaluate import load
from .train import run_phase

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def positional_subset(cache) -> np.ndarray:
    """One-object training images both of whose cached captions name a cell phrase."""
    labels = data.load_split(os.path.join(HERE, "work", "full", "data", "train"))["labels"]
    phrases = [p for ps in data.CELL_PHRASES for p in ps]
    caps = cache["captions"]
    ok = [i for i in range(len(caps[0])) if len(labels[i]["objects"]) == 1
          and all(any(p in caps[v][i] for p in phrases) for v in range(len(caps)))]
    return np.array(ok, dtype=np.int64)


def pair_subset(cache) -> np.ndarray:
    """Two-object training images (their captions name two shapes and a relation)."""
    shapes = set(data.SHAPES)
    return np.array([i for i, cap in enumerate(cache["captions"][0])
                     if sum(w in shapes for w in re.findall(r"[a-z]+", cap)) == 2], dtype=np.int64)


def test_images(objects: int, n: int = 200):
    """The first n test images with `objects` objects: (labels, their 32x32 images in [-1, 1])."""
    d = data.load_split(os.path.join(HERE, "work", "full", "data", "test"))
    idx = [i for i, l in enumerate(d["labels"]) if len(l["objects"]) == objects][:n]
    x = F.avg_pool2d(torch.from_numpy(d["images"][idx]).permute(0, 3, 1, 2).float().div(127.5).sub(1), 2)
    return [d["labels"][i] for i in idx], x


def conditioning(enc, texts):
    """The denoiser's text inputs for these captions (no style image)."""
    t5, t5m = enc.t5(texts)
    ct, cm, cp = enc.clip_text(texts)
    return {"t5_tokens": t5, "t5_mask": t5m.float(), "clip_tokens": ct, "clip_mask": cm.float(),
            "clip_pooled": cp, "image_embedding": torch.zeros(len(texts), 128)}


def one_object_captions(labels, swap: str = "cell"):
    """Captions stating each one-object image's cell, and the same with another cell (swap="cell")
    or another colour (swap="colour")."""
    rng = np.random.default_rng(0)
    true, wrong = [], []
    for k, lab in enumerate(labels):
        o = lab["objects"][0]
        w = (o["cell"] + 1 + int(rng.integers(8))) % 9
        obj = data._obj_phrase(o, np.random.default_rng(k))
        true.append(f"{obj} {data.CELL_PHRASES[o['cell']][0]}")
        if swap == "colour":
            other = dict(o, colour=(o["colour"] + 1 + int(rng.integers(len(data.COLOURS) - 1))) % len(data.COLOURS))
            wrong.append(f"{data._obj_phrase(other, np.random.default_rng(k))} {data.CELL_PHRASES[o['cell']][0]}")
        else:
            wrong.append(f"{obj} {data.CELL_PHRASES[w][0]}")
    return true, wrong


def errors(model, n: int = 200):
    labels, x = test_images(1, n)
    true, wrong = one_object_captions(labels)
    return _errors(model, x, true, wrong)


OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}


def pair_errors(model, n: int = 200):
    """Two-object test images: error with the true relation word vs the opposite one vs no text."""
    labels, x = test_images(2, n)
    parts = relation_parts(labels)
    true = [f"{pa} {data.REL_PHRASES[rel][0]} {pb}" for pa, rel, pb in parts]
    wrong = [f"{pa} {data.REL_PHRASES[OPPOSITE[rel]][0]} {pb}" for pa, rel, pb in parts]
    return _errors(model, x, true, wrong)


def relation_parts(labels):
    """(first object's phrase, a true relation of it to the second, second object's phrase) per
    two-object image."""
    parts = []
    for k, lab in enumerate(labels):
        a, b = lab["objects"]
        rel = data.relations_between(a, b)[0]
        parts.append((data._obj_phrase(a, np.random.default_rng(k)), rel,
                      data._obj_phrase(b, np.random.default_rng(k + 1))))
    return parts


def _errors(model, x, true, wrong):
    enc = frozen_encoders(max_len=32)
    return denoising_errors(model, x, [conditioning(enc, true), conditioning(enc, wrong)])


def denoising_errors(model, x, conds, sigmas=(1.0, 2.0, 4.0, 8.0, 16.0)):
    """{sigma: [mean squared error of D(x + sigma n) per conditioning in conds, then with no text]};
    one fixed noise draw, so the conditions are compared pairwise."""
    conds = list(conds) + [{k: torch.zeros_like(v) for k, v in conds[0].items()}]
    out = {}
    for s in sigmas:
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
        sig = torch.full((x.shape[0],), s)
        with torch.no_grad():
            out[s] = [((model(x + s * noise, sig, c) - x) ** 2).mean().item() for c in conds]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sigma", default=None, help="LO,HI: sample noise levels log-uniformly there (default: as pretrain2)")
    ap.add_argument("--check", nargs="+", default=None, metavar="PHASE",
                    help="no training: the true / swapped / no-text errors of these phases' EMA weights")
    ap.add_argument("--pairs", action="store_true",
                    help="two-object images, the true relation word vs the opposite one (with --check: only the "
                         "check; without: fine-tune on the two-object training images only, then check)")
    ap.add_argument("--refiner", action="store_true",
                    help="give the fine-tuned copy a text refiner (unet.TextRefiner, zero-initialised)")
    ap.add_argument("--p-clip", type=float, default=0.1, help="CLIP text dropout while fine-tuning")
    ap.add_argument("--parent", default="pretrain2", help="the phase the probe fine-tunes (default pretrain2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = os.path.join(HERE, "work", "mini2")
    if args.check:
        for name in args.check:
            m, step = load(work, name)
            e = pair_errors(m) if args.pairs else errors(m)
            log(f"{name} (step {step}): " + " | ".join(
                f"sigma {s}: true {v[0]:.4f} swapped {v[1]:.4f} no text {v[2]:.4f}" for s, v in e.items()))
        return
    cache = torch.load(os.path.join(work, "cache", "cache.pt"), map_location="cpu", weights_only=False)
    if args.pairs:   # every two-object caption states a relation
        subset = pair_subset(cache)
        log(f"relation probe: {len(subset)} two-object training images")
    else:
        subset = positional_subset(cache)
        log(f"position probe: {len(subset)} training images whose captions both state the cell")
    cfg = {"base": MODELS["base"], "sr": MODELS["sr"]}
    kind = "relation" if args.pairs else "position"
    name = f"probe_{kind}" + ("" if args.parent == "pretrain2" else f"_{args.parent}")
    ph = dict(SHIFT, name=name, kind="base", parent=args.parent, steps=args.steps, lo=0.0,
              hi=float("inf"), dist="lognormal", lr=5e-4, warmup=50, batch=64, ema=0.995, seed=99, subset=subset)
    if args.refiner:
        name += "_ref"
        ph.update(name=name, model={"refiner": True})
    if args.p_clip != 0.1:
        name += f"_pc{args.p_clip:g}"
        ph.update(name=name, batch_args={"p_clip": args.p_clip})
    if args.sigma:
        lo, hi = map(float, args.sigma.split(","))
        name = f"{name}_{lo:g}_{hi:g}"
        ph.update(name=name, lo=lo, hi=hi, dist="loguniform")
    run_phase(cfg, ph, work, cache)
    for name in (args.parent, name):
        m, _ = load(work, name)
        e = pair_errors(m) if args.pairs else errors(m)
        log(f"{name}: " + " | ".join(f"sigma {s}: true {v[0]:.4f} swapped {v[1]:.4f} no text {v[2]:.4f}"
                                     for s, v in e.items()))


if __name__ == "__main__":
    main()
