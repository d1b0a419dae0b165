"""Quick Python check of the denoisers on the held-out prompts (the SDK's evaluation command
makes the official table): sample with the PyTorch EMA weights, score with the judge (ONNX).

    python -m mini2.evaluate --n 100 [--which experts|m3|m4|baseline|pretrain] [--steps 20] [--guidance 3]
    python -m mini2.evaluate --which m4 --prompts prompts/validation.jsonl --layout   # per-phrase input

--layout gives two-object prompts the SDK's layout step (manifest "layout"): each object's phrase
with the cell the planner picks for the relation (mini2.phrases.PLACEMENTS), encoded on its own.
Built here from the prompt's spec, not parsed from its text (the SDK parses; this is a check).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import Dict, List

import numpy as np
import torch

from mini import data
from mini.evaluate import judge_predict_onnx
from mini.train import log
from .build import MODELS, SPLITS, SPLITS_M3
from .sample import routed, sample, to_u8
from .train import load_phase, make_model, ckpt_path

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def decode(pred: Dict[str, np.ndarray], i: int) -> Dict:
    objs = []
    for c in range(9):
        if pred["occupied"][i, c]:
            objs.append({"shape": int(pred["shape"][i, c]), "colour": int(pred["colour"][i, c]),
                         "size": int(pred["size"][i, c]), "cell": c})
    return {"objects": objs, "pattern": int(pred["pattern"][i]), "tint": int(pred["tint"][i])}


def score(prompts: List[Dict], images_u8: np.ndarray, judge: str) -> Dict:
    x = images_u8.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    pred = judge_predict_onnx(judge, x)
    ok = []
    attr = {k: [] for k in ("count", "shape", "colour", "size", "position")}
    for i, p in enumerate(prompts):
        lab = decode(pred, i)
        spec = p["spec"]
        ok.append(data.spec_matches(spec, lab))
        attr["count"].append(len(lab["objects"]) == len(spec["objects"]))
        if len(spec["objects"]) == 1 and len(lab["objects"]) == 1:
            o, s = lab["objects"][0], spec["objects"][0]
            attr["shape"].append(data.SHAPES[o["shape"]] == s["shape"])
            attr["colour"].append(data.COLOURS[o["colour"]] == s["colour"])
            attr["size"].append(data.SIZES[o["size"]] == s["size"])
            if s["cell"] is not None:
                attr["position"].append(data.CELLS[o["cell"]] == s["cell"])
    # two-object prompts, step by step: two objects drawn; both objects right (any cells); relation
    pc, po, pr = [], [], []
    for i, p in enumerate(prompts):
        spec = p["spec"]
        if len(spec["objects"]) != 2:
            continue
        lab = decode(pred, i)
        pc.append(len(lab["objects"]) == 2)
        found = [[j for j, o in enumerate(lab["objects"]) if data._obj_matches(s, o)] for s in spec["objects"]]
        pair = [(a, b) for a in found[0] for b in found[1] if a != b]
        po.append(bool(pair))
        if pair and spec.get("relation"):
            pr.append(any(spec["relation"] in data.relations_between(lab["objects"][a], lab["objects"][b]) for a, b in pair))
    n_found = [len(decode(pred, i)["objects"]) for i, p in enumerate(prompts) if len(p["spec"]["objects"]) == 1]
    out = {"prompt_accuracy": float(np.mean(ok)), "n": len(prompts)}
    for name, want in (("single_with_cell_accuracy", True), ("single_without_cell_accuracy", False)):
        sel = [ok[i] for i, p in enumerate(prompts)
               if len(p["spec"]["objects"]) == 1 and (p["spec"]["objects"][0]["cell"] is not None) == want]
        if sel:
            out[name] = float(np.mean(sel))
    if n_found:
        out["single_objects_found"] = {str(k): n_found.count(k) for k in sorted(set(n_found))}
    if pc:
        out.update(pair_two_objects=float(np.mean(pc)), pair_both_right=float(np.mean(po)),
                   pair_relation_given_both=float(np.mean(pr)) if pr else None)
    out.update({k: (float(np.mean(v)) if v else None) for k, v in attr.items()})
    n1 = [i for i, p in enumerate(prompts) if len(p["spec"]["objects"]) == 1]
    n2 = [i for i, p in enumerate(prompts) if len(p["spec"]["objects"]) == 2]
    out["single_object_accuracy"] = float(np.mean([ok[i] for i in n1])) if n1 else None
    out["two_object_accuracy"] = float(np.mean([ok[i] for i in n2])) if n2 else None
    return out


def layout_phrases(spec: Dict):
    """The two phrases the SDK's planner makes for a relation prompt (None for other prompts)."""
    from .phrases import PLACEMENTS
    objs = spec["objects"]
    if len(objs) != 2 or spec.get("relation") is None:
        return None
    cells = PLACEMENTS[spec["relation"]]
    return [f"a {o['size']} {o['colour']} {o['shape']} {data.CELL_PHRASES[c][0]}" for o, c in zip(objs, cells)]


def conditioning(prompts: List[Dict], layout: bool) -> Dict[str, torch.Tensor]:
    from mini.encoders import frozen_encoders
    from .phrases import encode_pieces
    enc = frozen_encoders(max_len=32)
    texts = [p["prompt"] for p in prompts]
    t5, t5m = enc.t5(texts)
    ct, cm, cp = enc.clip_text(texts)
    cond = {"t5_tokens": t5, "t5_mask": t5m.float(), "clip_tokens": ct, "clip_mask": cm.float(), "clip_pooled": cp}
    if layout:
        enc16 = frozen_encoders(max_len=16)
        for i, p in enumerate(prompts):
            ph = layout_phrases(p["spec"])
            if ph:
                e = encode_pieces(enc16, enc, [tuple(ph)], piece=16)
                for k, k2 in (("t5_tokens", "t5"), ("t5_mask", "t5_mask"), ("clip_tokens", "clip"),
                              ("clip_mask", "clip_mask"), ("clip_pooled", "clip_pooled")):
                    cond[k][i] = e[k2][0].to(cond[k].dtype)
    return cond


def load(work: str, phase: str):
    ck = load_phase(work, phase)
    m = make_model(ck["phase"]["kind"], {"base": MODELS["base"], "sr": MODELS["sr"]}, ck["phase"])
    m.load_state_dict(ck["ema"])
    return m.eval(), ck["state"]["step"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--which", default="experts")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", default=None, help="write a PNG grid here")
    ap.add_argument("--prompts", default=None, help="a prompt list (all of it); default: --n of the held-out prompts")
    ap.add_argument("--splits", default=None, help="LOW,HIGH: route at these noise levels instead of the plan's")
    ap.add_argument("--layout", action="store_true", help="two-object prompts as per-phrase input with planned cells")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = os.path.join(HERE, "work", "mini2")
    prompts = [json.loads(l) for l in open(args.prompts or os.path.join(HERE, "prompts", "heldout.jsonl"))]
    if args.prompts is None:
        rng = np.random.default_rng(0)
        prompts = [prompts[i] for i in sorted(rng.choice(len(prompts), size=min(args.n, len(prompts)), replace=False))]
    s1, s2 = SPLITS
    trees = {"experts": {"low": "e2_low", "mid": "e2_mid", "high": "e1_high"},
             "m3": {"low": "e2_low", "mid": "m3_mid", "high": "m3_high2"},
             "m4": {"low": "m4_low", "mid": "m4_mid", "high": "m4_high"}}
    if "=" in args.which:   # e.g. high=m4_high,mid=m3_mid,low=e2_low (the m3 split)
        trees[args.which] = dict(kv.split("=") for kv in args.which.split(","))
    if args.which in trees:
        if args.which != "experts":
            s1, s2 = SPLITS_M3
        if args.splits:
            s1, s2 = map(float, args.splits.split(","))
        ms = {k: load(work, v) for k, v in trees[args.which].items()}
        pick = routed([(0.0, s1, ms["low"][0]), (s1, s2, ms["mid"][0]), (s2, float("inf"), ms["high"][0])])
        steps_info = {k: v[1] for k, v in ms.items()}
    else:
        m, st = load(work, args.which)
        pick = routed([(0.0, float("inf"), m)])
        steps_info = {args.which: st}
    allc = conditioning(prompts, args.layout)
    texts = [p["prompt"] for p in prompts]
    t0 = time.time()
    imgs = []
    for s0 in range(0, len(prompts), 50):
        sl = slice(s0, s0 + 50)
        b = len(texts[sl])
        cond = {k: v[sl] for k, v in allc.items()}
        cond["image_embedding"] = torch.zeros(b, 128)
        x = sample(pick, cond, (b, 3, 32, 32), steps=args.steps, guidance=args.guidance, seed=s0)
        imgs.append(to_u8(x))
    imgs = np.concatenate(imgs)
    res = score(prompts, imgs, os.path.join(HERE, "export", "judge", "judge.onnx"))
    res.update({"which": args.which, "layout": args.layout, "prompts": args.prompts, "steps": args.steps, "guidance": args.guidance, "trained_steps": steps_info,
                "sampling_s": round(time.time() - t0)})
    log(json.dumps(res))
    with open(os.path.join(work, "eval.jsonl"), "a") as f:
        f.write(json.dumps(res) + "\n")
    if args.save:
        from PIL import Image
        k = min(len(imgs), 64)
        cols = 8
        rows = (k + cols - 1) // cols
        grid = np.zeros((rows * 34, cols * 34, 3), np.uint8)
        for j in range(k):
            r, c = divmod(j, cols)
            grid[r * 34 + 1:r * 34 + 33, c * 34 + 1:c * 34 + 33] = imgs[j]
        Image.fromarray(grid).resize((cols * 34 * 3, rows * 34 * 3), Image.NEAREST).save(args.save)


if __name__ == "__main__":
    main()
