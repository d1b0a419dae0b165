"""Writes the evaluation sets the SDK's `ediff eval` command reads ([mini-2] quality table).

    tools/mini/.venv/bin/python tools/mini/eval_sets.py        (from the repository root)

Into tools/mini/work/eval/ (git-ignored, regenerated deterministically):
  real/NNNN.png + real/labels.jsonl   500 real test images and what they show (every cell stated):
                                     the ceiling row and the Frechet-distance reference
  paint.jsonl                        the 50 held-out one-object prompts that state no position, each
                                     with a paint box on one 3x3 cell (paint-with-words placement), weight 0.6
  paint-w1.5.jsonl                   the same boxes at weight 1.5
  style.jsonl + style_refs/*.png     50 held-out prompts, each with a style reference image (a real
                                     test image whose background pattern and tint the output should take)

    tools/mini/.venv/bin/python tools/mini/eval_sets.py --validation      (session 7)

The validation versions, for choosing inference settings without touching the held-out prompts.
Same generator (data.heldout_prompts) with another seed (VAL_SEED), every held-out prompt text
excluded, sampling seeds 7000.. (held-out: 1000..1299; the 60-prompt validation.jsonl: 5000..5059):
  prompts/validation300.jsonl        300 prompts in the held-out mix (100 one-object with a cell,
                                     50 one-object without, 150 two-object)
  prompts/validation-paint.jsonl     200 one-object prompts without a cell (seeds 7300..), each painted
                                     into one random cell at weight 0.6 (other weights: eval's
                                     paint_weight key)
  prompts/validation-style.jsonl +   100 one-object prompts with a cell (seeds 7500..), each with a real
  prompts/validation-style/*.png     image drawn with VAL_SEED (not a held-out reference) as its style
  work/s7/real/                      500 real test images (test split indices 500..999; the held-out
                                     --real set is 0..499) with labels.jsonl: Frechet distance reference
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mini import data  # noqa: E402

SEED = 20240607
OUT = os.path.join(HERE, "work", "eval")
VAL_SEED = 20241130          # session 7's validation prompts: another seed of the held-out generator
VAL_OUT = os.path.join(HERE, "work", "s7")
PROMPTS = os.path.join(HERE, "prompts")


def spec_of(labels):
    objs = labels["objects"]
    # every cell stated; a pair also states one relation that holds (objects[0] REL objects[1])
    relation = data.relations_between(objs[0], objs[1])[0] if len(objs) == 2 else None
    return {"objects": [{"shape": data.SHAPES[o["shape"]], "colour": data.COLOURS[o["colour"]],
                         "size": data.SIZES[o["size"]], "cell": data.CELLS[o["cell"]]} for o in objs],
            "relation": relation}


def paint_entry(h, rng, weight):
    """h with a paint box on one random 3x3 cell for its object's colour + shape."""
    objs = h["spec"]["objects"]
    cell = int(rng.integers(9))
    r, c = divmod(cell, 3)
    phrase = f"{objs[0]['colour']} {objs[0]['shape']}"
    return {"prompt": h["prompt"], "seed": h["seed"], "spec": h["spec"],
            "paint": {"phrase": phrase, "box": [c / 3, r / 3, (c + 1) / 3, (r + 1) / 3],
                      "shape": "rect", "weight": weight}}


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def validation() -> None:
    held = [json.loads(l) for l in open(os.path.join(PROMPTS, "heldout.jsonl"))]
    held_texts = {h["prompt"] for h in held}
    train_caps = set(json.load(open(os.path.join(HERE, "work", "full", "data", "train.json")))["captions"])
    # the held-out mix (100 / 50 / 150), another seed, no held-out text, seeds 7000..7299
    v300 = data.heldout_prompts(VAL_SEED, train_caps, split="heldout", exclude=held_texts, first_seed=7000)
    write_jsonl(os.path.join(PROMPTS, "validation300.jsonl"), v300)
    used = held_texts | {v["prompt"] for v in v300}
    # paint: 200 one-object prompts that state no cell (not in held-out or validation300), seeds 7300..
    singles = data.heldout_prompts(VAL_SEED + 1, train_caps, n_single_pos=0, n_single=200, n_pair=0,
                                   split="heldout", exclude=used, first_seed=7300)
    rng = np.random.default_rng(8)
    write_jsonl(os.path.join(PROMPTS, "validation-paint.jsonl"), [paint_entry(h, rng, 0.6) for h in singles])
    used |= {v["prompt"] for v in singles}
    # style: 100 one-object prompts with a cell, seeds 7500..; references drawn with VAL_SEED (the
    # held-out references are (SEED, "val", 0..49))
    placed = data.heldout_prompts(VAL_SEED + 2, train_caps, n_single_pos=100, n_single=0, n_pair=0,
                                  split="heldout", exclude=used, first_seed=7500)
    refs = os.path.join(PROMPTS, "validation-style")
    os.makedirs(refs, exist_ok=True)
    rows = []
    for k, h in enumerate(placed):
        img, labels, _, _ = data.example(VAL_SEED, "val", k)
        name = f"validation-style/{k:03d}-{data.PATTERNS[labels['pattern']]}-{data.TINTS[labels['tint']]}.png"
        Image.fromarray(img).save(os.path.join(PROMPTS, name), optimize=True)
        rows.append({"prompt": h["prompt"], "seed": h["seed"], "spec": h["spec"], "style": name})
    write_jsonl(os.path.join(PROMPTS, "validation-style.jsonl"), rows)
    # real images for the Frechet distance: test split indices 500..999 (held-out --real: 0..499)
    os.makedirs(os.path.join(VAL_OUT, "real"), exist_ok=True)
    with open(os.path.join(VAL_OUT, "real", "labels.jsonl"), "w") as f:
        for i in range(500, 1000):
            img, labels, cap, _ = data.example(SEED, "test", i)
            name = f"{i:04d}.png"
            Image.fromarray(img).save(os.path.join(VAL_OUT, "real", name))
            f.write(json.dumps({"prompt": cap, "seed": i, "spec": spec_of(labels), "file": name}) + "\n")
    all_texts = [v["prompt"] for v in v300 + singles + placed]
    assert not held_texts & set(all_texts), "a validation prompt is a held-out prompt"
    assert len(set(all_texts)) == len(all_texts), "a validation prompt repeats"
    print("wrote", PROMPTS, "validation*", "and", VAL_OUT)


def main() -> None:
    if "--validation" in sys.argv[1:]:
        validation()
        return
    os.makedirs(os.path.join(OUT, "real"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "style_refs"), exist_ok=True)
    with open(os.path.join(OUT, "real", "labels.jsonl"), "w") as f:
        for i in range(500):
            img, labels, cap, _ = data.example(SEED, "test", i)
            name = f"{i:04d}.png"
            Image.fromarray(img).save(os.path.join(OUT, "real", name))
            f.write(json.dumps({"prompt": cap, "seed": i, "spec": spec_of(labels), "file": name}) + "\n")

    held = [json.loads(l) for l in open(os.path.join(HERE, "prompts", "heldout.jsonl"))]
    # the same painted cells at two weights (paint.jsonl: 0.6; paint-w1.5.jsonl: 1.5)
    for weight, name in ((0.6, "paint.jsonl"), (1.5, "paint-w1.5.jsonl")):
        rng = np.random.default_rng(7)
        with open(os.path.join(OUT, name), "w") as f:
            for h in held:
                objs = h["spec"]["objects"]
                if len(objs) != 1 or objs[0]["cell"] is not None:
                    continue
                cell = int(rng.integers(9))
                r, c = divmod(cell, 3)
                phrase = f"{objs[0]['colour']} {objs[0]['shape']}"
                f.write(json.dumps({"prompt": h["prompt"], "seed": h["seed"], "spec": h["spec"],
                                    "paint": {"phrase": phrase, "box": [c / 3, r / 3, (c + 1) / 3, (r + 1) / 3],
                                              "shape": "rect", "weight": weight}}) + "\n")
    with open(os.path.join(OUT, "style.jsonl"), "w") as f:
        singles = [h for h in held if len(h["spec"]["objects"]) == 1 and h["spec"]["objects"][0]["cell"] is not None]
        for k, h in enumerate(singles[:50]):
            img, labels, _, _ = data.example(SEED, "val", k)
            name = f"style_refs/{k:02d}-{data.PATTERNS[labels['pattern']]}-{data.TINTS[labels['tint']]}.png"
            Image.fromarray(img).save(os.path.join(OUT, name))
            f.write(json.dumps({"prompt": h["prompt"], "seed": h["seed"], "spec": h["spec"], "style": name}) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
