"""Accuracy tables for the model card: mini-CLIP retrieval / zero-shot, mini-T5 masked-token
accuracy, judge per-attribute accuracy (through the exported ONNX graph)."""
from __future__ import annotations

import itertools
import os
from typing import Dict

import numpy as np
import torch

from . import data, toks
from . import train as tr


def _embed_images(clip, images_u8: np.ndarray, degrade: bool = False) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for s in range(0, len(images_u8), 250):
            x = tr.images_to_float(torch.from_numpy(images_u8[s:s + 250]))
            if degrade:
                x = tr.degrade_32(x)
            out.append(clip.image(tr.clip_normalize(x)))
    return torch.cat(out)


def _embed_texts(clip, ctok, texts) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for s in range(0, len(texts), 250):
            ids, mask = toks.clip_encode_batch(ctok, texts[s:s + 250])
            out.append(clip.text(torch.from_numpy(ids), torch.from_numpy(mask))[1])
    return torch.cat(out)


def evaluate_clip(clip, ctok, test: Dict) -> Dict:
    labels, caps, specs = test["labels"], list(test["captions"]), test["specs"]
    res = {}
    for degrade in (False, True):
        img = torch.nn.functional.normalize(_embed_images(clip, test["images"], degrade), dim=-1)
        txt = torch.nn.functional.normalize(_embed_texts(clip, ctok, caps), dim=-1)
        sim = (img @ txt.t()).numpy()
        i2t = sim.argmax(1)
        t2i = sim.argmax(0)
        n = len(caps)
        key = "32to64" if degrade else "64"
        r = {
            "image_to_text_top1_true": float(np.mean([data.spec_matches(specs[i2t[i]], labels[i]) for i in range(n)])),
            "text_to_image_top1_true": float(np.mean([data.spec_matches(specs[j], labels[t2i[j]]) for j in range(n)])),
            "image_to_text_top1_exact": float(np.mean(i2t == np.arange(n))),
            "candidates": n,
        }
        # zero-shot classification over "a {size} {colour} {shape}" for single-object images
        combos = list(itertools.product(range(len(data.SIZES)), range(len(data.COLOURS)), range(len(data.SHAPES))))
        prompts = [f"a {data.SIZES[z]} {data.COLOURS[c]} {data.SHAPES[s]}" for z, c, s in combos]
        pe = torch.nn.functional.normalize(_embed_texts(clip, ctok, prompts), dim=-1)
        single = np.nonzero(test["n_objects"] == 1)[0]
        pred = (img[single] @ pe.t()).argmax(1).numpy()
        pz = np.array([combos[p][0] for p in pred])
        pc = np.array([combos[p][1] for p in pred])
        ps = np.array([combos[p][2] for p in pred])
        tz, tc, ts = test["size"][single, 0], test["colour"][single, 0], test["shape"][single, 0]
        r["zero_shot_single_object"] = {
            "classes": len(prompts), "images": int(len(single)),
            "all": float(np.mean((pz == tz) & (pc == tc) & (ps == ts))),
            "size": float(np.mean(pz == tz)), "colour": float(np.mean(pc == tc)), "shape": float(np.mean(ps == ts))}
        # zero-shot position: 9 prompts "a {size} {colour} {shape} {cell phrase}" with the true object
        correct = []
        for i in single[:500]:
            o = labels[i]["objects"][0]
            ph = [f"a {data.SIZES[o['size']]} {data.COLOURS[o['colour']]} {data.SHAPES[o['shape']]} "
                  f"{data.CELL_PHRASES[c][0]}" for c in range(9)]
            e = torch.nn.functional.normalize(_embed_texts(clip, ctok, ph), dim=-1)
            correct.append(int((img[i] @ e.t()).argmax()) == o["cell"])
        r["zero_shot_single_position"] = {"classes": 9, "images": len(correct), "acc": float(np.mean(correct))}
        # relation: for two-object images, true caption vs same caption with the relation flipped
        flip = {"left": "right", "right": "left", "above": "below", "below": "above"}
        pair_ok = []
        two = [i for i in range(n) if specs[i]["relation"] is not None][:500]
        for i in two:
            s = specs[i]
            a, b = s["objects"]
            pa, pb = f"a {a['size']} {a['colour']} {a['shape']}", f"a {b['size']} {b['colour']} {b['shape']}"
            rel = data.REL_PHRASES[s["relation"]][0]
            bad = data.REL_PHRASES[flip[s["relation"]]][0]
            e = torch.nn.functional.normalize(_embed_texts(clip, ctok, [f"{pa} {rel} {pb}", f"{pa} {bad} {pb}"]), dim=-1)
            pair_ok.append(bool((img[i] @ e.t()).argmax() == 0))
        r["zero_shot_relation_vs_flipped"] = {"images": len(pair_ok), "acc": float(np.mean(pair_ok))}
        with torch.no_grad():
            st = clip.style_head(_embed_images(clip, test["images"], degrade))
        npat = len(data.PATTERNS)
        r["style_probe"] = {"pattern": float(np.mean(st[:, :npat].argmax(1).numpy() == test["pattern"])),
                            "tint": float(np.mean(st[:, npat:].argmax(1).numpy() == test["tint"]))}
        res[key] = r
    return res


def evaluate_t5(t5, ttok, test: Dict) -> Dict:
    rng = np.random.default_rng(12345)
    sentinel0 = ttok.token_to_id("<extra_id_0>")
    caps = list(test["captions"])
    ok, tot = 0, 0
    attr_ok, attr_tot = 0, 0
    attr_ids = {ttok.token_to_id("\u2581" + w) for w in data.SHAPES + data.COLOURS} - {None}
    with torch.no_grad():
        for s in range(0, len(caps), 250):
            ids, inp, mask, tgt = tr.t5_batch(ttok, caps[s:s + 250], rng, sentinel0)
            pred = t5(torch.from_numpy(inp), torch.from_numpy(mask)).argmax(-1).numpy()
            ok += int((pred[tgt] == ids[tgt]).sum())
            tot += int(tgt.sum())
            am = tgt & np.isin(ids, list(attr_ids))
            attr_ok += int((pred[am] == ids[am]).sum())
            attr_tot += int(am.sum())
    return {"masked_token_acc": ok / max(1, tot), "masked_tokens": tot,
            "masked_shape_or_colour_word_acc": attr_ok / max(1, attr_tot), "masked_attribute_words": attr_tot}


def judge_predict_onnx(path: str, images: np.ndarray) -> Dict[str, np.ndarray]:
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = []
    for s in range(0, len(images), 250):
        outs.append(sess.run(None, {"images": images[s:s + 250]}))
    occ, shp, col, siz, pat, tin = (np.concatenate([o[k] for o in outs]) for k in range(6))
    return {"occupied": occ > 0, "shape": shp.argmax(-1), "colour": col.argmax(-1), "size": siz.argmax(-1),
            "pattern": pat.argmax(-1), "tint": tin.argmax(-1)}


def judge_table(pred: Dict[str, np.ndarray], arrs: Dict) -> Dict:
    ct = data.cell_targets(arrs)
    occ_true = ct["occupied"] > 0.5
    res = {
        "count": float(np.mean(pred["occupied"].sum(1) == occ_true.sum(1))),
        "position": float(np.mean((pred["occupied"] == occ_true).all(1))),
    }
    for k in ("shape", "colour", "size"):
        res[k] = float(np.mean(pred[k][occ_true] == ct[k][occ_true]))   # per object, at its true cell
    res["pattern"] = float(np.mean(pred["pattern"] == arrs["pattern"]))
    res["tint"] = float(np.mean(pred["tint"] == arrs["tint"]))
    obj_ok = np.ones_like(occ_true)
    for k in ("shape", "colour", "size"):
        obj_ok &= (pred[k] == ct[k]) | ~occ_true
    res["all_attributes_per_image"] = float(np.mean(
        (pred["occupied"] == occ_true).all(1) & obj_ok.all(1)
        & (pred["pattern"] == arrs["pattern"]) & (pred["tint"] == arrs["tint"])))
    res["images"] = int(len(arrs["pattern"]))
    res["objects"] = int(occ_true.sum())
    return res


def evaluate_judge(path: str, test: Dict) -> Dict:
    x = tr.images_to_float(torch.from_numpy(test["images"])).numpy()
    x32 = x.reshape(len(x), 3, 32, 2, 32, 2).mean(axis=(3, 5)).astype(np.float32)
    return {"64x64": judge_table(judge_predict_onnx(path, x), test),
            "32x32_input": judge_table(judge_predict_onnx(path, x32), test)}


def evaluate_all(clip, t5, judge, ctok, ttok, test, work, export) -> Dict:
    tr.log("evaluating judge (ONNX)")
    j = evaluate_judge(os.path.join(export, "judge", "judge.onnx"), test)
    tr.log(f"judge: {j}")
    tr.log("evaluating mini-CLIP")
    c = evaluate_clip(clip, ctok, test)
    tr.log(f"clip: {c}")
    t = evaluate_t5(t5, ttok, test)
    tr.log(f"t5: {t}")
    return {"judge_test": j, "clip_test": c, "t5_test": t}
