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


def spec_of(labels):
    objs = labels["objects"]
    # every cell stated; a pair also states one relation that holds (objects[0] REL objects[1])
    relation = data.relations_between(objs[0], objs[1])[0] if len(objs) == 2 else None
    return {"objects": [{"shape": data.SHAPES[o["shape"]], "colour": data.COLOURS[o["colour"]],
                         "size": data.SIZES[o["size"]], "cell": data.CELLS[o["cell"]]} for o in objs],
            "relation": relation}


def main() -> None:
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
