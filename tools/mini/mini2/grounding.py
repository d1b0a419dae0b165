"""Grounding loss on the cross-attention maps ([mini-3], relations).

Why: a two-object caption's relation word only says which object is where; the set of occupied
places is the same either way. A denoiser that cannot bind an object phrase to a place gains
nothing from the word, and none of ours learned that binding from the denoising loss alone:
not with 800 steps of relation captions at high noise, not with captions that state both cells
(`binding_probe`), not with a bidirectional text refiner (MODEL_CARD, [mini-3]). The training
data knows which words name which object and in which cell it lies, so the binding can be taught
directly, as TokenCompose (Wang et al., 2024) does with segmentation masks: each object's tokens
should draw their attention from the pixels of that object's cell (token term), and a pixel in
one object's cell should attend to that object's tokens rather than the other's (pixel term).
Nothing changes at inference: the exported graph is the same network.

Per training image and caption variant, `groups` marks the context positions (T5 0..Lt-1, CLIP
Lt..Lt+Lc-1, null last; the training cache holds 24 tokens of each) of each object phrase ("a big red circle": size, colour, shape) with the label
object it names (1 or 2; 0 elsewhere); `cells` holds the label objects' cells.
"""
from __future__ import annotations

import os
import re
from typing import Dict, List

import numpy as np
import torch

from mini import data

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHRASE = re.compile(r"\b(%s) (%s) (%s)\b" % ("|".join(w for ws in data.SIZE_WORDS for w in ws),
                                           "|".join(data.COLOURS), "|".join(data.SHAPES)))
SIZE_OF = {w: k for k, ws in enumerate(data.SIZE_WORDS) for w in ws}


def _positions(offsets, start: int, end: int, shift: int, limit: int) -> List[int]:
    # tokens overlapping the character span (T5 pieces carry their leading space: (1, 8) for "▁little")
    return [shift + k for k, (s, e) in enumerate(offsets[:limit]) if e > s and s < end and e > start]


def token_groups(captions: List[List[str]], labels: List[Dict], ctok, ttok, lt: int, lc: int) -> np.ndarray:
    """int8 [N, VARIANTS, lt + lc + 1]: 1 / 2 where a token belongs to the phrase naming label
    object 0 / 1, else 0. A phrase that fits both objects (same size, colour and shape) marks nothing."""
    V, N = len(captions), len(captions[0])
    out = np.zeros((N, V, lt + lc + 1), np.int8)
    for v in range(V):
        tc = ctok.encode_batch(captions[v])
        tt = ttok.encode_batch(captions[v])
        for i in range(N):
            objs = labels[i]["objects"]
            for m in PHRASE.finditer(captions[v][i]):
                size, colour, shape = SIZE_OF[m.group(1)], data.COLOURS.index(m.group(2)), data.SHAPES.index(m.group(3))
                hits = [k for k, o in enumerate(objs) if (o["size"], o["colour"], o["shape"]) == (size, colour, shape)]
                if len(hits) != 1:
                    continue
                for p in _positions(tt[i].offsets, m.start(), m.end(), 0, lt - 1):
                    out[i, v, p] = hits[0] + 1
                for p in _positions(tc[i].offsets, m.start(), m.end(), lt, lc - 1):
                    out[i, v, p] = hits[0] + 1
    return out


def object_cells(labels: List[Dict]) -> np.ndarray:
    cells = np.full((len(labels), 2), -1, np.int8)
    for i, l in enumerate(labels):
        for k, o in enumerate(l["objects"][:2]):
            cells[i, k] = o["cell"]
    return cells


def side_data(work: str, cache: Dict, name: str = "grounding.pt") -> Dict[str, torch.Tensor]:
    """groups and cells for the training cache (made once, kept in work/mini2/cache/<name>). A cache
    of a subset of the training images (binding_probe's) names them in cache["index"]."""
    path = os.path.join(work, "cache", name)
    if os.path.exists(path):
        return torch.load(path, map_location="cpu", weights_only=False)
    from tokenizers import Tokenizer
    export = os.path.join(HERE, "export")
    ctok = Tokenizer.from_file(os.path.join(export, "clip", "tokenizer.json"))
    ttok = Tokenizer.from_file(os.path.join(export, "t5", "tokenizer.json"))
    labels = data.load_split(os.path.join(HERE, "work", "full", "data", "train"))["labels"]
    if "index" in cache:
        labels = [labels[int(i)] for i in cache["index"]]
    labels = labels[:len(cache["captions"][0])]
    lt, lc = cache["t5"].shape[2], cache["clip"].shape[2]
    out = {"groups": torch.from_numpy(token_groups(cache["captions"], labels, ctok, ttok, lt, lc)),
           "cells": torch.from_numpy(object_cells(labels))}
    tmp = path + ".tmp"
    torch.save(out, tmp)
    os.replace(tmp, path)
    return out


def cell_map(r: int) -> torch.Tensor:
    """[r*r] cell index (row-major 3x3 grid) of each pixel of an r x r map, by the pixel's centre."""
    c = (2 * torch.arange(r) + 1) * data.GRID // (2 * r)
    return (c[:, None] * data.GRID + c[None, :]).reshape(-1)


def loss(atts: List[torch.Tensor], groups: torch.Tensor, cells: torch.Tensor, ctx_mask: torch.Tensor):
    """atts: the cross-attention probabilities of each layer, [B, heads, N, L]; groups [B, L] (0/1/2);
    cells [B, 2] (-1 = none); ctx_mask [B, L] (1 = the token is visible: dropped encoders are 0).
    Returns (token term, pixel term), each averaged over layers and the samples where it applies."""
    eps = 1e-6
    tok_terms, pix_terms = [], []
    for att in atts:
        a = att.mean(1)                                                            # [B, N, L]
        r = int(round(a.shape[1] ** 0.5))
        cm = cell_map(r)                                                           # [N]
        mass, inside, valid = [], [], []
        for k in (1, 2):
            g = (groups == k).float() * ctx_mask                                  # [B, L]
            a_k = (a * g[:, None, :]).sum(-1)                                     # [B, N]
            m_k = (cm[None, :] == cells[:, k - 1].long()[:, None]).float()        # [B, N]
            ok = (g.sum(-1) > 0) & (cells[:, k - 1] >= 0)
            mass.append(a_k)
            inside.append(m_k)
            valid.append(ok)
            frac = (a_k * m_k).sum(-1) / (a_k.sum(-1) + eps)
            if ok.any():
                tok_terms.append((1 - frac)[ok].mean())
        both = valid[0] & valid[1]
        if both.any():
            p1 = (mass[0] + eps) / (mass[0] + mass[1] + 2 * eps)
            nll = -(inside[0] * torch.log(p1) + inside[1] * torch.log(1 - p1 + eps)).sum(-1)
            pix_terms.append((nll / (inside[0] + inside[1]).sum(-1).clamp(min=1))[both].mean())
    zero = torch.zeros(())
    tok = torch.stack(tok_terms).mean() if tok_terms else zero
    pix = torch.stack(pix_terms).mean() if pix_terms else zero
    return tok, pix
