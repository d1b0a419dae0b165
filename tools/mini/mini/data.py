"""Procedural captioned data set for the miniature eDiff-I.

Every image is 64x64 RGB, anti-aliased (4x4 supersampling), with one or two
objects on a 3x3 grid over a background *style* (pattern + tint) that captions
never name. Everything is a pure function of (seed, split, index), so any image
can be regenerated on its own and the whole set is reproducible.

Public API (used by the encoders, the judge and the [mini-2] denoisers):

    sample_labels(rng)              -> labels dict
    render(labels, rng=None)        -> uint8 [64, 64, 3]
    make_caption(labels, rng)       -> (caption str, spec dict)
    spec_matches(spec, labels)      -> bool (is the caption true of the image)
    example(seed, split, index)     -> (image uint8, labels, caption, spec)
    build_split(seed, split, n)     -> dict of numpy arrays + captions (see save_split)
    load_split(path)                -> same dict

Label conventions (also in README.md):
    shape  : index into SHAPES, colour: COLOURS, size: SIZES, cell: 0..8 row-major
             (0 = top left, 2 = top right, 4 = centre, 8 = bottom right)
    pattern: index into PATTERNS, tint: TINTS
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

IMAGE_SIZE = 64
GRID = 3
SUPERSAMPLE = 4

SHAPES = ["circle", "square", "triangle", "diamond", "star"]
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "white"]
SIZES = ["small", "large"]
PATTERNS = ["plain", "stripes", "checkerboard", "dots", "gradient"]
TINTS = ["gray", "sand", "teal", "plum"]
CELLS = ["top left", "top", "top right", "left", "center", "right",
         "bottom left", "bottom", "bottom right"]
RELATIONS = ["left", "right", "above", "below"]  # objects[0] REL objects[1]

COLOUR_RGB = np.array([
    [0.90, 0.12, 0.12],  # red
    [1.00, 0.55, 0.05],  # orange
    [0.95, 0.90, 0.15],  # yellow
    [0.15, 0.75, 0.25],  # green
    [0.15, 0.35, 0.95],  # blue
    [0.60, 0.25, 0.85],  # purple
    [0.96, 0.96, 0.96],  # white
], dtype=np.float32)
TINT_RGB = np.array([
    [0.42, 0.42, 0.42],  # gray
    [0.50, 0.42, 0.30],  # sand
    [0.22, 0.40, 0.42],  # teal
    [0.40, 0.26, 0.38],  # plum
], dtype=np.float32)

SIZE_RADIUS = [5.0, 8.2]   # half-extent in 64-px units (small, large)
CELL_PX = IMAGE_SIZE / GRID
JITTER = 1.0               # max centre offset inside a cell, px
P_TWO = 0.6                # share of two-object images
P_POS_SINGLE = 0.6         # share of single-object captions that state the position

SPLIT_CODES = {"train": 0, "val": 1, "test": 2, "heldout": 3, "judge": 4}


# ----------------------------------------------------------------------------- labels

def sample_labels(rng: np.random.Generator, n_objects: Optional[int] = None) -> Dict:
    """Draw the content of one image. n_objects may force 0, 1 or 2 objects."""
    if n_objects is None:
        n_objects = 2 if rng.random() < P_TWO else 1
    cells = rng.choice(GRID * GRID, size=n_objects, replace=False)
    objects = []
    for c in cells:
        objects.append({
            "shape": int(rng.integers(len(SHAPES))),
            "colour": int(rng.integers(len(COLOURS))),
            "size": int(rng.integers(len(SIZES))),
            "cell": int(c),
            "dx": float(rng.uniform(-JITTER, JITTER)),
            "dy": float(rng.uniform(-JITTER, JITTER)),
            "scale": float(rng.uniform(0.95, 1.05)),
            "cjit": [float(v) for v in rng.uniform(-0.04, 0.04, size=3)],
        })
    return {
        "objects": objects,
        "pattern": int(rng.integers(len(PATTERNS))),
        "tint": int(rng.integers(len(TINTS))),
        "tjit": [float(v) for v in rng.uniform(-0.03, 0.03, size=3)],
        "phase": [float(v) for v in rng.uniform(0, 1, size=2)],
    }


# ----------------------------------------------------------------------------- rendering

def _star_polygon(R: float) -> np.ndarray:
    pts = []
    for k in range(10):
        ang = -np.pi / 2 + k * np.pi / 5
        rad = R if k % 2 == 0 else R * 0.45
        pts.append((rad * np.cos(ang), rad * np.sin(ang)))
    return np.array(pts, dtype=np.float64)


def _triangle_polygon(R: float) -> np.ndarray:
    pts = [(R * np.cos(a), R * np.sin(a) + R / 4) for a in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6)]
    return np.array(pts, dtype=np.float64)


def _inside_polygon(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd crossing test, vectorised over points."""
    inside = np.zeros(x.shape, dtype=bool)
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        cond = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = (x2 - x1) * (y - y1) / (y2 - y1) + x1
        inside ^= cond & (x < xc)
    return inside


def _inside(shape: int, x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    name = SHAPES[shape]
    if name == "circle":
        return x * x + y * y <= r * r
    if name == "square":
        return np.maximum(np.abs(x), np.abs(y)) <= r * 0.88
    if name == "diamond":
        return np.abs(x) + np.abs(y) <= r * 1.15
    if name == "triangle":
        return _inside_polygon(x, y, _triangle_polygon(r * 1.2))
    if name == "star":
        return _inside_polygon(x, y, _star_polygon(r * 1.2))
    raise ValueError(name)


def object_center(obj: Dict) -> Tuple[float, float]:
    row, col = divmod(obj["cell"], GRID)
    return (col + 0.5) * CELL_PX + obj["dx"], (row + 0.5) * CELL_PX + obj["dy"]


_S = SUPERSAMPLE
_SS = (np.arange(IMAGE_SIZE * _S) + 0.5) / _S  # supersample coordinates in px
_UU, _VV = np.meshgrid(_SS, _SS)


def _background(labels: Dict) -> np.ndarray:
    tint = np.clip(TINT_RGB[labels["tint"]] + np.array(labels["tjit"], np.float32), 0, 1)
    p0, p1 = labels["phase"]
    name = PATTERNS[labels["pattern"]]
    u, v = _UU, _VV
    if name == "plain":
        q = np.full(u.shape, 0.5)
    elif name == "stripes":
        period = 10.0
        q = (((u + v) / period + p0) % 1.0) < 0.5
    elif name == "checkerboard":
        period = 8.0
        q = ((np.floor(u / period + p0) + np.floor(v / period + p1)) % 2) == 1
    elif name == "dots":
        period = 8.0
        du = ((u / period + p0) % 1.0) - 0.5
        dv = ((v / period + p1) % 1.0) - 0.5
        q = (du * du + dv * dv) * period * period <= 2.2 ** 2
    elif name == "gradient":
        q = np.clip(v / IMAGE_SIZE * 0.9 + 0.05 * p0, 0, 1)
    else:
        raise ValueError(name)
    q = q.astype(np.float32)
    q = q.reshape(IMAGE_SIZE, _S, IMAGE_SIZE, _S).mean(axis=(1, 3))
    dark, light = tint * 0.7, np.clip(tint * 1.3, 0, 1)
    return dark[None, None, :] + (light - dark)[None, None, :] * q[:, :, None]


def render(labels: Dict) -> np.ndarray:
    """Render labels to a uint8 [64, 64, 3] image."""
    img = _background(labels).astype(np.float32)
    for obj in labels["objects"]:
        cx, cy = object_center(obj)
        r = SIZE_RADIUS[obj["size"]] * obj["scale"]
        ext = r * 1.25 + 1.5
        x0, x1 = max(0, int(np.floor(cx - ext))), min(IMAGE_SIZE, int(np.ceil(cx + ext)))
        y0, y1 = max(0, int(np.floor(cy - ext))), min(IMAGE_SIZE, int(np.ceil(cy + ext)))
        xs = x0 + (np.arange((x1 - x0) * _S) + 0.5) / _S - cx
        ys = y0 + (np.arange((y1 - y0) * _S) + 0.5) / _S - cy
        xx, yy = np.meshgrid(xs, ys)
        cov = _inside(obj["shape"], xx, yy, r).astype(np.float32)
        cov = cov.reshape(y1 - y0, _S, x1 - x0, _S).mean(axis=(1, 3))[:, :, None]
        col = np.clip(COLOUR_RGB[obj["colour"]] + np.array(obj["cjit"], np.float32), 0, 1)
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - cov) + col[None, None, :] * cov
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- captions

SIZE_WORDS = [["small", "little"], ["large", "big"]]
CELL_PHRASES = [
    ["in the top left corner", "at the top left", "in the upper left"],
    ["at the top", "at the top center", "in the upper middle"],
    ["in the top right corner", "at the top right", "in the upper right"],
    ["on the left", "at the left side", "in the middle left"],
    ["in the center", "in the middle"],
    ["on the right", "at the right side", "in the middle right"],
    ["in the bottom left corner", "at the bottom left", "in the lower left"],
    ["at the bottom", "at the bottom center", "in the lower middle"],
    ["in the bottom right corner", "at the bottom right", "in the lower right"],
]
REL_PHRASES = {
    "left": ["to the left of", "left of", "on the left of"],
    "right": ["to the right of", "right of", "on the right of"],
    "above": ["above", "over", "on top of"],
    "below": ["below", "under", "beneath"],
}
SINGLE_TEMPLATES = ["{o}", "a picture of {o}", "an image of {o}", "there is {o}", "{o} on a background"]
SINGLE_POS_TEMPLATES = ["{o} {p}", "a picture of {o} {p}", "there is {o} {p}", "{p}, {o}",
                        "an image with {o} {p}", "{o} placed {p}"]
PAIR_TEMPLATES = ["{a} {r} {b}", "{a} is {r} {b}", "there is {a} {r} {b}",
                  "a picture of {a} {r} {b}", "an image of {a} {r} {b}", "{a} {r} {b}, two shapes"]


def relations_between(a: Dict, b: Dict) -> List[str]:
    """True relations 'a REL b' on the grid."""
    ra, ca = divmod(a["cell"], GRID)
    rb, cb = divmod(b["cell"], GRID)
    rels = []
    if ca < cb:
        rels.append("left")
    if ca > cb:
        rels.append("right")
    if ra < rb:
        rels.append("above")
    if ra > rb:
        rels.append("below")
    return rels


def _obj_phrase(o: Dict, rng: np.random.Generator, article: bool = True) -> str:
    size = SIZE_WORDS[o["size"]][int(rng.integers(len(SIZE_WORDS[o["size"]])))]
    words = f"{size} {COLOURS[o['colour']]} {SHAPES[o['shape']]}"
    return "a " + words if article else words


def _spec_obj(o: Dict, with_cell: bool) -> Dict:
    return {"shape": SHAPES[o["shape"]], "colour": COLOURS[o["colour"]],
            "size": SIZES[o["size"]], "cell": CELLS[o["cell"]] if with_cell else None}


def make_caption(labels: Dict, rng: np.random.Generator) -> Tuple[str, Dict]:
    """A caption for labels and its spec (what the caption states).

    spec = {"objects": [{"shape","colour","size","cell" (name or None)}],
            "relation": None or one of RELATIONS (objects[0] REL objects[1])}
    """
    objs = labels["objects"]
    if len(objs) == 1:
        o = objs[0]
        if rng.random() < P_POS_SINGLE:
            t = SINGLE_POS_TEMPLATES[int(rng.integers(len(SINGLE_POS_TEMPLATES)))]
            ph = CELL_PHRASES[o["cell"]]
            cap = t.format(o=_obj_phrase(o, rng), p=ph[int(rng.integers(len(ph)))])
            spec = {"objects": [_spec_obj(o, True)], "relation": None}
        else:
            t = SINGLE_TEMPLATES[int(rng.integers(len(SINGLE_TEMPLATES)))]
            cap = t.format(o=_obj_phrase(o, rng))
            spec = {"objects": [_spec_obj(o, False)], "relation": None}
        return cap, spec
    if len(objs) != 2:
        raise ValueError("captions need one or two objects")
    order = [0, 1] if rng.random() < 0.5 else [1, 0]
    a, b = objs[order[0]], objs[order[1]]
    rels = relations_between(a, b)
    rel = rels[int(rng.integers(len(rels)))]
    ph = REL_PHRASES[rel]
    t = PAIR_TEMPLATES[int(rng.integers(len(PAIR_TEMPLATES)))]
    cap = t.format(a=_obj_phrase(a, rng), b=_obj_phrase(b, rng), r=ph[int(rng.integers(len(ph)))])
    return cap, {"objects": [_spec_obj(a, False), _spec_obj(b, False)], "relation": rel}


def _obj_matches(s: Dict, o: Dict) -> bool:
    return (SHAPES[o["shape"]] == s["shape"] and COLOURS[o["colour"]] == s["colour"]
            and SIZES[o["size"]] == s["size"]
            and (s.get("cell") is None or CELLS[o["cell"]] == s["cell"]))


def spec_matches(spec: Dict, labels: Dict) -> bool:
    """Whether an image with these labels satisfies everything the caption states
    (exact object count, attributes, stated cell, stated relation)."""
    objs = labels["objects"]
    if len(objs) != len(spec["objects"]):
        return False
    if len(objs) == 1:
        return _obj_matches(spec["objects"][0], objs[0])
    for i, j in ((0, 1), (1, 0)):
        a, b = objs[i], objs[j]
        if (_obj_matches(spec["objects"][0], a) and _obj_matches(spec["objects"][1], b)
                and spec["relation"] in relations_between(a, b)):
            return True
    return False


# ----------------------------------------------------------------------------- splits

def example_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_CODES[split], index])


def example(seed: int, split: str, index: int):
    rng = example_rng(seed, split, index)
    labels = sample_labels(rng)
    img = render(labels)
    cap, spec = make_caption(labels, rng)
    return img, labels, cap, spec


def labels_to_arrays(labels_list: List[Dict]) -> Dict[str, np.ndarray]:
    n = len(labels_list)
    out = {
        "n_objects": np.zeros(n, np.int64),
        "shape": np.full((n, 2), -1, np.int64), "colour": np.full((n, 2), -1, np.int64),
        "size": np.full((n, 2), -1, np.int64), "cell": np.full((n, 2), -1, np.int64),
        "pattern": np.zeros(n, np.int64), "tint": np.zeros(n, np.int64),
    }
    for i, lab in enumerate(labels_list):
        out["n_objects"][i] = len(lab["objects"])
        out["pattern"][i] = lab["pattern"]
        out["tint"][i] = lab["tint"]
        for k, o in enumerate(lab["objects"]):
            for key in ("shape", "colour", "size", "cell"):
                out[key][i, k] = o[key]
    return out


def cell_targets(arrs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Per-cell targets for the judge: occupancy [N,9] and shape/colour/size [N,9] (-1 = empty)."""
    n = len(arrs["n_objects"])
    occ = np.zeros((n, 9), np.float32)
    out = {k: np.full((n, 9), -1, np.int64) for k in ("shape", "colour", "size")}
    for k in range(2):
        valid = arrs["cell"][:, k] >= 0
        idx = np.nonzero(valid)[0]
        cells = arrs["cell"][idx, k]
        occ[idx, cells] = 1
        for key in out:
            out[key][idx, cells] = arrs[key][idx, k]
    out["occupied"] = occ
    return out


def _build_range(args):
    seed, split, start, stop = args
    imgs, labs, caps, specs = [], [], [], []
    for i in range(start, stop):
        img, lab, cap, spec = example(seed, split, i)
        imgs.append(img)
        labs.append(lab)
        caps.append(cap)
        specs.append(spec)
    return np.stack(imgs), labs, caps, specs


def build_split(seed: int, split: str, n: int, workers: int = 2) -> Dict:
    chunks = [(seed, split, s, min(n, s + 2000)) for s in range(0, n, 2000)]
    if workers > 1:
        from multiprocessing import Pool
        with Pool(workers) as pool:
            parts = pool.map(_build_range, chunks)
    else:
        parts = [_build_range(c) for c in chunks]
    images = np.concatenate([p[0] for p in parts])
    labels = [l for p in parts for l in p[1]]
    captions = [c for p in parts for c in p[2]]
    specs = [s for p in parts for s in p[3]]
    return {"images": images, "labels": labels, "captions": captions, "specs": specs,
            **labels_to_arrays(labels)}


def save_split(d: Dict, path: str) -> None:
    """Writes <path>.npz (images uint8 [N,64,64,3] + label arrays) and <path>.json
    (labels, captions, specs)."""
    arrays = {k: v for k, v in d.items() if isinstance(v, np.ndarray)}
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    with open(path + ".json.tmp", "w") as f:
        json.dump({"labels": d["labels"], "captions": d["captions"], "specs": d["specs"]}, f)
    os.replace(path + ".json.tmp", path + ".json")
    os.replace(tmp, path + ".npz")


def load_split(path: str) -> Dict:
    z = np.load(path + ".npz")
    d = {k: z[k] for k in z.files}
    with open(path + ".json") as f:
        d.update(json.load(f))
    return d


def heldout_prompts(seed: int, train_captions: set, n_single_pos: int = 100, n_single: int = 50,
                    n_pair: int = 150, split: str = "heldout", exclude: set = frozenset(),
                    first_seed: int = 1000) -> List[Dict]:
    """Evaluation prompts with their spec and a sampling seed: single objects with a stated
    cell, single objects without (free position: for paint-with-words), and pairs with a
    relation. Positions the prompt does not state are free."""
    out: List[Dict] = []
    want = {("single", True): n_single_pos, ("single", False): n_single, ("pair", None): n_pair}
    have = {k: 0 for k in want}
    i = 0
    while any(have[k] < want[k] for k in want):
        rng = example_rng(seed, split, i)
        i += 1
        lab = sample_labels(rng)
        cap, spec = make_caption(lab, rng)
        if len(lab["objects"]) == 1:
            key = ("single", spec["objects"][0]["cell"] is not None)
        else:
            key = ("pair", None)
        # Single-object captions without a position are too few (700) to avoid the training
        # set; every other kind is a caption text that no training image has.
        seen = cap in train_captions
        if (seen and key != ("single", False)) or have[key] >= want[key] \
                or cap in exclude or any(o["prompt"] == cap for o in out):
            continue
        have[key] += 1
        out.append({"prompt": cap, "seed": first_seed + len(out), "seen_in_train": seen, "spec": spec})
    return out
