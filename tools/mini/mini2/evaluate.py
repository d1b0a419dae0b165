"""Quick Python check of the denoisers on the held-out prompts (the SDK's evaluation command
makes the official table): sample with the PyTorch EMA weights, score with the judge (ONNX).

    python -m mini2.evaluate --n 100 [--which experts|baseline|pretrain] [--steps 20] [--guidance 3]
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
from .build import MODELS, SPLITS
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
    out = {"prompt_accuracy": float(np.mean(ok)), "n": len(prompts)}
    out.update({k: (float(np.mean(v)) if v else None) for k, v in attr.items()})
    n1 = [i for i, p in enumerate(prompts) if len(p["spec"]["objects"]) == 1]
    n2 = [i for i, p in enumerate(prompts) if len(p["spec"]["objects"]) == 2]
    out["single_object_accuracy"] = float(np.mean([ok[i] for i in n1])) if n1 else None
    out["two_object_accuracy"] = float(np.mean([ok[i] for i in n2])) if n2 else None
    return out


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
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = os.path.join(HERE, "work", "mini2")
    prompts = [json.loads(l) for l in open(os.path.join(HERE, "prompts", "heldout.jsonl"))]
    rng = np.random.default_rng(0)
    prompts = [prompts[i] for i in sorted(rng.choice(len(prompts), size=min(args.n, len(prompts)), replace=False))]
    s1, s2 = SPLITS
    if args.which == "experts":
        names = {"low": "e2_low", "mid": "e2_mid", "high": "e1_high"}
        ms = {k: load(work, v) for k, v in names.items()}
        pick = routed([(0.0, s1, ms["low"][0]), (s1, s2, ms["mid"][0]), (s2, float("inf"), ms["high"][0])])
        steps_info = {k: v[1] for k, v in ms.items()}
    else:
        m, st = load(work, args.which)
        pick = routed([(0.0, float("inf"), m)])
        steps_info = {args.which: st}
    from mini.encoders import frozen_encoders
    enc = frozen_encoders(max_len=32)
    texts = [p["prompt"] for p in prompts]
    t5, t5m = enc.t5(texts)
    ct, cm, cp = enc.clip_text(texts)
    t0 = time.time()
    imgs = []
    for s0 in range(0, len(prompts), 50):
        sl = slice(s0, s0 + 50)
        b = len(texts[sl])
        cond = {"t5_tokens": t5[sl], "t5_mask": t5m[sl].float(), "clip_tokens": ct[sl],
                "clip_mask": cm[sl].float(), "clip_pooled": cp[sl], "image_embedding": torch.zeros(b, 128)}
        x = sample(pick, cond, (b, 3, 32, 32), steps=args.steps, guidance=args.guidance, seed=s0)
        imgs.append(to_u8(x))
    imgs = np.concatenate(imgs)
    res = score(prompts, imgs, os.path.join(HERE, "export", "judge", "judge.onnx"))
    res.update({"which": args.which, "steps": args.steps, "guidance": args.guidance, "trained_steps": steps_info,
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
