"""Experiment (not part of the build): can the base denoiser bind two objects to two places?

Relations were never learned (MODEL_CARD, [mini-3]): flipping "left of" to "right of" keeps the
set of occupied places and only swaps which object is where, so a denoiser that cannot bind an
object phrase to a place gains nothing from the relation word. This probe asks the simpler
question first: with captions that state both objects' cells ("a red circle at the top left, a
blue square at the bottom"), does fine-tuning teach the binding? It fine-tunes a copy of
--parent on the two-object training images captioned that way (a side cache of their encoder
states, made once), then compares the denoising error with the true cells against the same
caption with the two cells swapped, on 200 two-object test images.

    python -m mini2.binding_probe --parent m3_high2 --steps 300 [--refiner] [--ground 0.5]
    python -m mini2.binding_probe --check m3_high2 probe_binding_m3_high2     # only the check
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from mini import data
from mini.encoders import frozen_encoders
from mini.train import log
from .build import MODELS, SHIFT
from .evaluate import load
from .position_probe import (OPPOSITE, conditioning, denoising_errors, pair_errors, pair_subset, relation_parts,
                             test_images)
from .train import run_phase

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGMAS = (2.0, 4.0, 8.0)
TEMPLATES = ["{a} {pa}, {b} {pb}", "a picture of {a} {pa}, {b} {pb}", "there is {a} {pa}, {b} {pb}",
             "{pa}, {a}, {pb}, {b}"]


def two_cell_caption(objs, rng: np.random.Generator) -> str:
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    a, b = objs[order[0]], objs[order[1]]
    pa = data.CELL_PHRASES[a["cell"]][int(rng.integers(len(data.CELL_PHRASES[a["cell"]])))]
    pb = data.CELL_PHRASES[b["cell"]][int(rng.integers(len(data.CELL_PHRASES[b["cell"]])))]
    t = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
    return t.format(a=data._obj_phrase(a, rng), b=data._obj_phrase(b, rng), pa=pa, pb=pb)


def encode(enc, texts, bs: int = 512):
    out = {"t5": [], "t5_mask": [], "clip": [], "clip_mask": [], "clip_pooled": []}
    for k in range(0, len(texts), bs):
        chunk = texts[k:k + bs]
        t5, t5m = enc.t5(chunk)
        ct, cm, cp = enc.clip_text(chunk)
        for key, v in zip(out, (t5.half(), t5m.half(), ct.half(), cm.half(), cp.half())):
            out[key].append(v)
    return {k: torch.cat(v) for k, v in out.items()}


def phrase_pieces(objs, rng: np.random.Generator):
    """(first object's phrase with its cell, second's) in a random order, for --per-phrase."""
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    out = []
    for o in (objs[order[0]], objs[order[1]]):
        p = data.CELL_PHRASES[o["cell"]][int(rng.integers(len(data.CELL_PHRASES[o["cell"]])))]
        out.append(f"{data._obj_phrase(o, rng)} {p}")
    return out


def relation_pieces(objs, rng: np.random.Generator):
    """A relation caption split for --per-phrase --relation: ("A REL", "REL B") (each object's tokens
    see the relation word and their own phrase only) and the whole caption "A REL B"."""
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    a, b = objs[order[0]], objs[order[1]]
    rels = data.relations_between(a, b)
    rel = rels[int(rng.integers(len(rels)))]
    rp = data.REL_PHRASES[rel][int(rng.integers(len(data.REL_PHRASES[rel])))]
    pa, pb = data._obj_phrase(a, rng), data._obj_phrase(b, rng)
    return f"{pa} {rp}", f"{rp} {pb}"


def encode_per_phrase(enc, pairs_of_pieces, bs: int = 512):
    """CLIP token states of each piece encoded on its own (16 tokens each, concatenated to 32), so no
    token state holds the other object; T5 off (zeros, mask 0: its states see the whole caption);
    the pooled embedding of the two pieces joined by a comma."""
    out = {"t5": [], "t5_mask": [], "clip": [], "clip_mask": [], "clip_pooled": []}
    for k in range(0, len(pairs_of_pieces), bs):
        chunk = pairs_of_pieces[k:k + bs]
        ta, ma, _ = enc.clip_text([a for a, _ in chunk])
        tb, mb, _ = enc.clip_text([b for _, b in chunk])
        _, _, cp = enc.clip_text([join(a, b) for a, b in chunk])
        n = len(chunk)
        for key, v in zip(out, (torch.zeros(n, 32, 128), torch.zeros(n, 32), torch.cat([ta[:, :16], tb[:, :16]], 1),
                                torch.cat([ma[:, :16], mb[:, :16]], 1).float(), cp)):
            out[key].append(v.half())
    return {k: torch.cat(v) for k, v in out.items()}


def join(a: str, b: str) -> str:
    """The whole caption of two pieces: "A REL" + "REL B" -> "A REL B"; two cell pieces -> "A, B"."""
    for ps in data.REL_PHRASES.values():
        for rp in ps:
            if a.endswith(" " + rp) and b.startswith(rp + " "):
                return f"{a} {b[len(rp) + 1:]}"
    return f"{a}, {b}"


def side_cache(work: str, cache, variants: int = 2, per_phrase: bool = False, relation: bool = False):
    """The two-object training images with `variants` two-cell captions each, as a cache that
    mini2.cache.Batches reads (x32, style and image embeddings subset to those images)."""
    path = os.path.join(work, "cache", ("relation_phrase.pt" if relation else "binding_phrase.pt") if per_phrase
                        else "binding.pt")
    if os.path.exists(path):
        side = torch.load(path, map_location="cpu", weights_only=False)
        side.setdefault("index", torch.from_numpy(pair_subset(cache)))
        return side
    pairs = pair_subset(cache)
    labels = data.load_split(os.path.join(HERE, "work", "full", "data", "train"))["labels"]
    rng = np.random.default_rng(20261130)
    if per_phrase:
        split = relation_pieces if relation else phrase_pieces
        pieces = [[split(labels[int(i)]["objects"], rng) for i in pairs] for _ in range(variants)]
        caps = [[join(a, b) for a, b in pv] for pv in pieces]
        enc = frozen_encoders(max_len=16)
        encs = [encode_per_phrase(enc, pv) for pv in pieces]
    else:
        caps = [[two_cell_caption(labels[int(i)]["objects"], rng) for i in pairs] for _ in range(variants)]
        enc = frozen_encoders(max_len=32)
        encs = [encode(enc, c) for c in caps]
    ti = torch.from_numpy(pairs)
    side = {k: torch.stack([e[k] for e in encs], dim=1) for k in encs[0]}   # [N, VARIANTS, ...]
    side.update(x32=cache["x32"][ti], style=cache["style"][ti], image=cache["image"][ti], captions=caps, index=ti)
    tmp = path + ".tmp"
    torch.save(side, tmp)
    os.replace(tmp, path)
    log(f"binding side cache: {len(pairs)} two-object images x {variants} captions, e.g. {caps[0][0]!r}")
    return side


def binding_errors(model, n: int = 200, per_phrase: bool = False):
    """Two-object test images: error with the true cells vs the two cells swapped vs no text."""
    labels, x = test_images(2, n)
    true, swap = [], []
    for k, lab in enumerate(labels):
        a, b = lab["objects"]
        pa, pb = data._obj_phrase(a, np.random.default_rng(k)), data._obj_phrase(b, np.random.default_rng(k + 1))
        ca, cb = data.CELL_PHRASES[a["cell"]][0], data.CELL_PHRASES[b["cell"]][0]
        true.append(f"{pa} {ca}, {pb} {cb}")
        swap.append(f"{pa} {cb}, {pb} {ca}")
    if per_phrase:
        enc = frozen_encoders(max_len=16)
        cs = [per_phrase_conditioning(enc, [tuple(c.split(", ")) for c in caps]) for caps in (true, swap)]
    else:
        enc = frozen_encoders(max_len=32)
        cs = [conditioning(enc, true), conditioning(enc, swap)]
    return denoising_errors(model, x, cs, SIGMAS)


def per_phrase_conditioning(enc, pieces):
    """The denoiser's inputs for pieces encoded by encode_per_phrase (no style image)."""
    e = encode_per_phrase(enc, pieces)
    return {"t5_tokens": e["t5"].float(), "t5_mask": e["t5_mask"].float(), "clip_tokens": e["clip"].float(),
            "clip_mask": e["clip_mask"].float(), "clip_pooled": e["clip_pooled"].float(),
            "image_embedding": torch.zeros(len(pieces), 128)}


def relation_errors_per_phrase(model, n: int = 200):
    """Two-object test images, relation captions as pieces ("A REL", "REL B"): true vs opposite vs no text."""
    labels, x = test_images(2, n)
    parts = relation_parts(labels)

    def pieces(rel_of):
        return [(f"{pa} {data.REL_PHRASES[rel_of(r)][0]}", f"{data.REL_PHRASES[rel_of(r)][0]} {pb}") for pa, r, pb in parts]
    enc = frozen_encoders(max_len=16)
    cs = [per_phrase_conditioning(enc, pieces(lambda r: r)), per_phrase_conditioning(enc, pieces(OPPOSITE.get))]
    return denoising_errors(model, x, cs, SIGMAS)


def report(work: str, name: str, per_phrase: bool = False) -> None:
    m, step = load(work, name)
    b = binding_errors(m, per_phrase=per_phrase)
    log(f"{name} (step {step}) cells: " + " | ".join(
        f"sigma {s}: true {v[0]:.4f} swapped {v[1]:.4f} no text {v[2]:.4f}" for s, v in b.items()))
    r = relation_errors_per_phrase(m) if per_phrase else pair_errors(m)
    log(f"{name} (step {step}) relation{' (pieces)' if per_phrase else ''}: " + " | ".join(
        f"sigma {s}: true {v[0]:.4f} opposite {v[1]:.4f} no text {v[2]:.4f}" for s, v in r.items() if s in SIGMAS))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parent", default="m3_high2")
    ap.add_argument("--sigma", default="2,40", help="LO,HI: noise levels log-uniform there")
    ap.add_argument("--refiner", action="store_true", help="give the copy a text refiner (unet.TextRefiner)")
    ap.add_argument("--per-phrase", action="store_true",
                    help="each object's phrase and cell encoded by CLIP on its own, T5 off (no token holds both objects)")
    ap.add_argument("--relation", action="store_true",
                    help="with --per-phrase: relation captions as pieces (\"A REL\", \"REL B\") instead of two cells")
    ap.add_argument("--ground", type=float, default=0.0, help="grounding loss weight (mini2.grounding)")
    ap.add_argument("--check", nargs="+", default=None, metavar="PHASE", help="no training: the check only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = os.path.join(HERE, "work", "mini2")
    if args.check:
        for name in args.check:
            report(work, name, args.per_phrase)
        return
    cache = torch.load(os.path.join(work, "cache", "cache.pt"), map_location="cpu", weights_only=False)
    side = side_cache(work, cache, per_phrase=args.per_phrase, relation=args.relation)
    del cache
    lo, hi = map(float, args.sigma.split(","))
    name = f"probe_binding_{args.parent}" + ("_ref" if args.refiner else "") + (f"_g{args.ground:g}" if args.ground else "") + ("_pp" if args.per_phrase else "") + ("_rel" if args.relation else "")
    ph = dict(SHIFT, name=name, kind="base", parent=args.parent, steps=args.steps, lo=lo, hi=hi,
              dist="loguniform", lr=5e-4, warmup=50, batch=64, ema=0.995, seed=98, ckpt_every=100)
    if args.refiner:
        ph["model"] = {"refiner": True}
    if args.ground:
        ph.update(ground=args.ground, ground_file="grounding_binding.pt")
    run_phase({"base": MODELS["base"], "sr": MODELS["sr"]}, ph, work, side)
    report(work, name, args.per_phrase)


if __name__ == "__main__":
    main()
