"""Training tensors for the denoisers, computed once and cached under work/mini2/cache/:

- images at 32x32 (2x2 average pooling of the 64x64 data, the degradation the judge reads) and
  at 64x64, both in [-1, 1], float16;
- the low-res input of the SR model: the 32x32 image upsampled to 64x64 with exactly the SDK's
  resampler (Keys bicubic a = -0.5, edge clamp; dev.ediff.core.image.Resampler);
- frozen encoder outputs for two captions per training image (the stored caption and one
  resampled wording, `data.make_caption`): mini-T5 tokens + mask, mini-CLIP tokens + mask +
  pooled, cropped to TOKENS tokens (captions are <= 17 tokens; the encoders' real-token states do
  not depend on padding, and padded keys are masked, so the SDK's 32-token inputs are equivalent);
- the mini-CLIP image embedding of every training image (the style condition).
"""
from __future__ import annotations

import os
import re
import time
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F

from mini import data
from mini.train import log

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENS = 24          # cached token length (training); the bundle uses max_tokens 32
VARIANTS = 2         # captions per image


def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The SDK's Resampler weights as a dense [n_out, n_in] matrix (Keys a=-0.5, clamped edges)."""
    def cubic(t):
        a = -0.5
        x = abs(t)
        if x < 1:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2:
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return 0.0
    scale = n_in / n_out
    support = 2 * max(1.0, scale)
    stretch = max(1.0, scale)
    m = np.zeros((n_out, n_in), np.float64)
    for o in range(n_out):
        center = (o + 0.5) * scale
        lo, hi = int(np.floor(center - support)), int(np.ceil(center + support))
        total = 0.0
        for i in range(lo, hi + 1):
            k = cubic((i + 0.5 - center) / stretch)
            if k == 0:
                continue
            m[o, min(n_in - 1, max(0, i))] += k
            total += k
        m[o] /= total
    return m


def upsample_sdk(x: torch.Tensor, size: int) -> torch.Tensor:
    """[B,C,h,w] -> [B,C,size,size] with the SDK's bicubic resampler."""
    h = x.shape[-1]
    u = torch.from_numpy(resample_matrix(h, size)).to(x.dtype)
    return u @ x @ u.T


def u8_to_pm1(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def build(work: str, data_dir: str, n: Optional[int] = None, random_encoders: bool = False) -> str:
    """Writes work/cache.pt (or returns it if present). random_encoders: stand-in embeddings for smoke tests."""
    path = os.path.join(work, "cache.pt")
    if os.path.exists(path):
        return path
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    d = data.load_split(os.path.join(data_dir, "train"))
    N = len(d["captions"]) if n is None else min(n, len(d["captions"]))
    labels = d["labels"][:N]
    caps = [list(d["captions"][:N])]
    seed = 4242
    caps.append([data.make_caption(labels[i], np.random.default_rng([seed, i]))[0] for i in range(N)])
    images = d["images"][:N]
    x64 = torch.empty(N, 3, 64, 64, dtype=torch.float16)
    x32 = torch.empty(N, 3, 32, 32, dtype=torch.float16)
    lr64 = torch.empty(N, 3, 64, 64, dtype=torch.float16)
    for s in range(0, N, 2000):
        x = u8_to_pm1(images[s:s + 2000])
        small = F.avg_pool2d(x, 2)
        x64[s:s + 2000] = x.half()
        x32[s:s + 2000] = small.half()
        lr64[s:s + 2000] = upsample_sdk(small, 64).half()
    log(f"cache: images {N} in {time.time() - t0:.0f}s")
    t5 = torch.zeros(N, VARIANTS, TOKENS, 128, dtype=torch.float16)
    t5m = torch.zeros(N, VARIANTS, TOKENS, dtype=torch.uint8)
    ct = torch.zeros(N, VARIANTS, TOKENS, 128, dtype=torch.float16)
    cm = torch.zeros(N, VARIANTS, TOKENS, dtype=torch.uint8)
    cp = torch.zeros(N, VARIANTS, 128, dtype=torch.float16)
    img = torch.zeros(N, 128, dtype=torch.float16)
    if random_encoders:
        g = torch.Generator().manual_seed(0)
        t5.normal_(generator=g)
        ct.normal_(generator=g)
        cp.normal_(generator=g)
        img.normal_(generator=g)
        t5m[:, :, :12] = 1
        cm[:, :, :13] = 1
    else:
        from mini.encoders import frozen_encoders
        enc = frozen_encoders(max_len=TOKENS)
        bs = 500
        for v in range(VARIANTS):
            for s in range(0, N, bs):
                texts = caps[v][s:s + bs]
                a, am = enc.t5(texts)
                b, bm, bp = enc.clip_text(texts)
                assert int(am[:, -1].max()) == 0 and int(bm[:, -1].max()) == 0, "caption longer than the cache"
                t5[s:s + bs, v] = a.half()
                t5m[s:s + bs, v] = am.to(torch.uint8)
                ct[s:s + bs, v] = b.half()
                cm[s:s + bs, v] = bm.to(torch.uint8)
                cp[s:s + bs, v] = bp.half()
            log(f"cache: captions variant {v} in {time.time() - t0:.0f}s")
        for s in range(0, N, 1000):
            img[s:s + 1000] = enc.clip_image(images[s:s + 1000]).half()
        log(f"cache: image embeddings in {time.time() - t0:.0f}s")
    style = np.array([lab["pattern"] * 10 + lab["tint"] for lab in labels], np.int64)
    torch.save({"x32": x32, "x64": x64, "lr64": lr64, "t5": t5, "t5_mask": t5m, "clip": ct, "clip_mask": cm,
                "clip_pooled": cp, "image": img, "style": torch.from_numpy(style), "captions": caps,
                "random_encoders": random_encoders}, path + ".tmp")
    os.replace(path + ".tmp", path)
    log(f"cache: written {path} in {time.time() - t0:.0f}s")
    return path


class Batches:
    """Deterministic batches (a pure function of seed and step), with condition dropout."""

    def __init__(self, cache: Dict, seed: int, subset: Optional[np.ndarray] = None):
        """subset: train on these image indices only (an experiment knob; None = all)."""
        self.c = cache
        self.seed = seed
        self.subset = subset
        self.N = cache["x32"].shape[0] if subset is None else len(subset)
        style = cache["style"].numpy()
        # per image and caption variant: does the caption state where (a cell or a relation)?
        phrases = [p for ps in data.CELL_PHRASES for p in ps]
        rels = [p for ps in data.REL_PHRASES.values() for p in ps]
        self.placed = np.array([[any(p in cap for p in phrases) or any(r in cap for r in rels) for cap in caps]
                                for caps in cache["captions"]], dtype=bool).T          # [N, VARIANTS]
        # one-object images (a caption names one shape; pair captions name two)
        shapes = set(data.SHAPES)
        self.single = np.array([sum(w in shapes for w in re.findall(r"[a-z]+", cap)) == 1
                                for cap in cache["captions"][0]], dtype=bool)
        self.groups = {int(k): np.nonzero(style == k)[0] for k in np.unique(style)}
        self.style = style

    def indices(self, step: int, bs: int) -> np.ndarray:
        spe = self.N // bs
        epoch, k = divmod(step, spe)
        perm = np.random.default_rng([self.seed, 777, epoch]).permutation(self.N)
        idx = perm[k * bs:(k + 1) * bs]
        return idx if self.subset is None else self.subset[idx]

    def get(self, step: int, bs: int, p_uncond=0.1, p_t5=0.1, p_clip=0.1, p_image=0.35, sr=False,
            crop: int = 32, aug_max: float = 0.4, prefer_placed=None) -> Dict[str, torch.Tensor]:
        """prefer_placed: bool [bs] (or None): for these samples take a caption variant that states
        a cell or relation when the image has one (at high noise, where layout is decided)."""
        rng = np.random.default_rng([self.seed, 999, step])
        idx = self.indices(step, bs)
        ti = torch.from_numpy(idx)
        var_np = rng.integers(0, VARIANTS, size=bs)
        if prefer_placed is not None:
            pl = self.placed[idx]                                  # [bs, VARIANTS]
            other = (var_np + 1) % VARIANTS
            swap = prefer_placed & ~pl[np.arange(bs), var_np] & pl[np.arange(bs), other]
            var_np = np.where(swap, other, var_np)
        var = torch.from_numpy(var_np)
        c = self.c
        out = {
            "t5_tokens": c["t5"][ti, var].float(), "t5_mask": c["t5_mask"][ti, var].float(),
            "clip_tokens": c["clip"][ti, var].float(), "clip_mask": c["clip_mask"][ti, var].float(),
            "clip_pooled": c["clip_pooled"][ti, var].float(),
        }
        un = rng.random(bs) < p_uncond
        drop_t5 = torch.from_numpy(un | (rng.random(bs) < p_t5)).float()
        drop_clip = torch.from_numpy(un | (rng.random(bs) < p_clip)).float()
        keep_t5, keep_clip = 1.0 - drop_t5, 1.0 - drop_clip
        out["t5_tokens"] *= keep_t5[:, None, None]
        out["t5_mask"] *= keep_t5[:, None]
        out["clip_tokens"] *= keep_clip[:, None, None]
        out["clip_mask"] *= keep_clip[:, None]
        out["clip_pooled"] *= keep_clip[:, None]
        if not sr:
            # style: the image embedding of another training image with the same pattern + tint
            other = np.array([self.groups[int(self.style[i])][int(rng.integers(len(self.groups[int(self.style[i])])))]
                              for i in idx])
            keep_img = torch.from_numpy(~(un | (rng.random(bs) < p_image))).float()
            out["image_embedding"] = c["image"][torch.from_numpy(other)].float() * keep_img[:, None]
            out["x0"] = c["x32"][ti].float()
        else:
            x = c["x64"][ti].float()
            lr = c["lr64"][ti].float()
            if crop < 64:
                oy, ox = rng.integers(0, 64 - crop + 1, size=2)
                x = x[:, :, oy:oy + crop, ox:ox + crop]
                lr = lr[:, :, oy:oy + crop, ox:ox + crop]
            aug = rng.uniform(0, aug_max, size=bs) * (rng.random(bs) > 0.2)
            aug_t = torch.from_numpy(aug).float()
            g = torch.Generator().manual_seed(int(rng.integers(2**31)))
            out["low_res"] = lr + aug_t[:, None, None, None] * torch.randn(lr.shape, generator=g)
            out["augmentation_sigma"] = aug_t
            out["x0"] = x
        if "groups" in c:   # the grounding loss's side data (mini2.grounding)
            out["_groups"] = c["groups"][ti, var].long()
            out["_cells"] = c["cells"][ti].long()
        out["_gen_seed"] = int(rng.integers(2**31))
        return out
