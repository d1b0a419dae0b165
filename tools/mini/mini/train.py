"""Training loops for mini-CLIP, mini-T5 and the judge. Each loop checkpoints every
`ckpt_every` steps and resumes from its checkpoint; batches and random masks are a pure
function of (seed, step), so an interrupted run continues exactly where it stopped."""
from __future__ import annotations

import json
import math
import os
import time
from typing import Dict, List

import numpy as np
import torch
import torch.nn.functional as F

from . import data, toks
from .models import CLIP_MEAN, CLIP_STD, Judge, MiniClip, MiniT5MLM


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def lr_at(step: int, total: int, peak: float, warmup: int = 100) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def batch_indices(seed: int, step: int, n: int, bs: int) -> np.ndarray:
    spe = n // bs
    epoch, k = divmod(step, spe)
    perm = np.random.default_rng([seed, 555, epoch]).permutation(n)
    return perm[k * bs:(k + 1) * bs]


class Checkpoint:
    def __init__(self, path: str):
        self.path = path

    def load(self, model, opt) -> Dict:
        if not os.path.exists(self.path):
            return {"step": 0, "elapsed": 0.0}
        ck = torch.load(self.path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        log(f"resumed {self.path} at step {ck['state']['step']}")
        return ck["state"]

    def save(self, model, opt, state: Dict) -> None:
        tmp = self.path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state}, tmp)
        os.replace(tmp, self.path)


def images_to_float(u8: torch.Tensor) -> torch.Tensor:
    """uint8 [B,64,64,3] -> float [B,3,64,64] in [0,1]."""
    return u8.permute(0, 3, 1, 2).float().div_(255.0)


def degrade_32(x: torch.Tensor) -> torch.Tensor:
    """What the base model's 32x32 output looks like to a 64x64 reader: 2x2 average pool,
    then bilinear (half-pixel) upsampling back to 64x64."""
    return F.interpolate(F.avg_pool2d(x, 2), size=(64, 64), mode="bilinear", align_corners=False)


def clip_normalize(x: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - m) / s


def _sig(lab: Dict) -> tuple:
    return tuple(sorted((o["shape"], o["colour"], o["size"]) for o in lab["objects"]))


def compatible_matrix(labels: List[Dict], specs: List[Dict]) -> np.ndarray:
    """M[i, j] = caption j is true of image i."""
    n = len(labels)
    m = np.zeros((n, n), dtype=bool)
    groups: Dict[tuple, List[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(_sig(lab), []).append(i)
    for idx in groups.values():
        for i in idx:
            for j in idx:
                m[i, j] = i == j or data.spec_matches(specs[j], labels[i])
    return m


# ----------------------------------------------------------------------------- mini-CLIP

def train_clip(cfg: Dict, work: str, clip_tok, remap: Dict, train: Dict) -> MiniClip:
    torch.manual_seed(cfg["seed"])
    model = MiniClip(torch.from_numpy(remap["table"]), len(remap["clip_ids"]) + 1, embed=cfg["embed"])
    model.image = model.image.to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos" not in n]
    other = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": other, "weight_decay": 0.0}], lr=cfg["lr"], betas=(0.9, 0.98))
    ck = Checkpoint(os.path.join(work, "clip.pt"))
    state = ck.load(model, opt)
    images = torch.from_numpy(train["images"])
    labels = train["labels"]
    pattern = torch.from_numpy(train["pattern"])
    tint = torch.from_numpy(train["tint"])
    n, bs, total = len(labels), cfg["batch"], cfg["steps"]
    oov = np.array([i for i in range(1000, 49000) if remap["table"][i] == 0][:2000])
    model.train()
    t0 = time.time() - state["elapsed"]
    step = state["step"]
    while step < total:
        idx = batch_indices(cfg["seed"], step, n, bs)
        rng = np.random.default_rng([cfg["seed"], 777, step])
        torch.manual_seed(cfg["seed"] * 1000003 + step)
        caps, specs = zip(*[data.make_caption(labels[i], rng) for i in idx])
        ids, mask = toks.clip_encode_batch(clip_tok, list(caps))
        t = int(mask.sum(1).max())
        ids, mask = ids[:, :t], mask[:, :t]
        # words outside the caption grammar: a few random out-of-vocabulary ids -> UNK embedding
        drop = (rng.random(ids.shape) < 0.02) & (mask == 1) & (ids < toks.CLIP_BOS)
        ids[drop] = rng.choice(oov, size=int(drop.sum()))
        x = images_to_float(images[idx])
        deg = torch.from_numpy(rng.random(bs) < cfg["p_degrade"])
        if deg.any():
            x[deg] = degrade_32(x[deg])
        x = clip_normalize(x).contiguous(memory_format=torch.channels_last)
        lr = lr_at(step, total, cfg["lr"])
        for g in opt.param_groups:
            g["lr"] = lr
        _, txt = model.text(torch.from_numpy(ids), torch.from_numpy(mask))
        img = model.image(x)
        ti, ii = F.normalize(txt, dim=-1), F.normalize(img, dim=-1)
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * ii @ ti.t()                       # [image, text]
        comp = torch.from_numpy(compatible_matrix([labels[i] for i in idx], list(specs)))
        eye = torch.eye(bs, dtype=torch.bool)
        masked = logits.masked_fill(comp & ~eye, -1e4)     # other true captions are not negatives
        target = torch.arange(bs)
        loss_c = 0.5 * (F.cross_entropy(masked, target) + F.cross_entropy(
            logits.t().masked_fill((comp & ~eye).t(), -1e4), target))
        st = model.style_head(img)
        loss_s = F.cross_entropy(st[:, :len(data.PATTERNS)], pattern[idx]) + \
            F.cross_entropy(st[:, len(data.PATTERNS):], tint[idx])
        loss = loss_c + cfg["style_weight"] * loss_s
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or step == total:
            acc = (logits.argmax(1) == target).float().mean().item()
            log(f"clip step {step}/{total} loss {loss_c.item():.3f} style {loss_s.item():.3f} "
                f"acc {acc:.3f} scale {scale.item():.1f} lr {lr:.2e} {time.time() - t0:.0f}s")
        if step % cfg["ckpt_every"] == 0 or step == total:
            ck.save(model, opt, {"step": step, "elapsed": time.time() - t0})
    return model


# ----------------------------------------------------------------------------- mini-T5

def span_mask(ids: np.ndarray, length: int, rng: np.random.Generator, sentinel0: int,
              rate: float = 0.25, n_sent: int = toks.T5_N_SENTINELS):
    """T5-style span corruption over tokens [0, length-1) (the final </s> is kept): every
    token of the k-th masked span is replaced by <extra_id_k>. Returns (corrupted, target mask)."""
    n = length - 1
    if n <= 0:
        return ids.copy(), np.zeros_like(ids, dtype=bool)
    want = max(1, int(round(rate * n)))
    m = np.zeros(len(ids), dtype=bool)
    while m[:n].sum() < want:
        s = int(rng.integers(n))
        m[s:min(n, s + int(rng.integers(1, 4)))] = True
    out = ids.copy()
    k = -1
    for p in range(n):
        if m[p]:
            if p == 0 or not m[p - 1]:
                k = min(k + 1, n_sent - 1)
            out[p] = sentinel0 + k
    return out, m


def t5_batch(tok, caps: List[str], rng, sentinel0: int):
    ids, mask = toks.t5_encode_batch(tok, caps)
    t = int(mask.sum(1).max())
    ids, mask = ids[:, :t], mask[:, :t]
    inp = ids.copy()
    tgt = np.zeros_like(ids, dtype=bool)
    for i in range(len(caps)):
        inp[i], tgt[i] = span_mask(ids[i], int(mask[i].sum()), rng, sentinel0)
    return ids, inp, mask, tgt


def train_t5(cfg: Dict, work: str, t5_tok, train: Dict) -> MiniT5MLM:
    torch.manual_seed(cfg["seed"])
    vocab = t5_tok.get_vocab_size()
    sentinel0 = t5_tok.token_to_id("<extra_id_0>")
    model = MiniT5MLM(vocab, d=cfg["d_model"], layers=cfg["layers"], heads=cfg["heads"], d_ff=cfg["d_ff"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)
    ck = Checkpoint(os.path.join(work, "t5.pt"))
    state = ck.load(model, opt)
    labels = train["labels"]
    n, bs, total = len(labels), cfg["batch"], cfg["steps"]
    model.train()
    t0 = time.time() - state["elapsed"]
    step = state["step"]
    while step < total:
        idx = batch_indices(cfg["seed"], step, n, bs)
        rng = np.random.default_rng([cfg["seed"], 888, step])
        torch.manual_seed(cfg["seed"] * 1000003 + step)
        caps = [data.make_caption(labels[i], rng)[0] for i in idx]
        ids, inp, mask, tgt = t5_batch(t5_tok, caps, rng, sentinel0)
        lr = lr_at(step, total, cfg["lr"])
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(torch.from_numpy(inp), torch.from_numpy(mask))
        tg = torch.from_numpy(tgt)
        loss = F.cross_entropy(logits[tg], torch.from_numpy(ids)[tg])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0 or step == total:
            acc = (logits[tg].argmax(-1) == torch.from_numpy(ids)[tg]).float().mean().item()
            log(f"t5 step {step}/{total} loss {loss.item():.3f} masked-acc {acc:.3f} lr {lr:.2e} "
                f"{time.time() - t0:.0f}s")
        if step % cfg["ckpt_every"] == 0 or step == total:
            ck.save(model, opt, {"step": step, "elapsed": time.time() - t0})
    return model


# ----------------------------------------------------------------------------- judge

def judge_loss(out, tg: Dict[str, torch.Tensor]):
    occ, shp, col, siz, pat, tin = out
    loss = F.binary_cross_entropy_with_logits(occ, tg["occupied"])
    sel = tg["occupied"] > 0.5
    loss = loss + F.cross_entropy(shp[sel], tg["shape"][sel]) + F.cross_entropy(col[sel], tg["colour"][sel]) \
        + F.cross_entropy(siz[sel], tg["size"][sel])
    loss = loss + F.cross_entropy(pat, tg["pattern"]) + F.cross_entropy(tin, tg["tint"])
    return loss


def judge_targets(arrs: Dict) -> Dict[str, torch.Tensor]:
    ct = data.cell_targets(arrs)
    return {"occupied": torch.from_numpy(ct["occupied"]), "shape": torch.from_numpy(ct["shape"]),
            "colour": torch.from_numpy(ct["colour"]), "size": torch.from_numpy(ct["size"]),
            "pattern": torch.from_numpy(arrs["pattern"]), "tint": torch.from_numpy(arrs["tint"])}


def train_judge(cfg: Dict, work: str, train: Dict) -> Judge:
    torch.manual_seed(cfg["seed"])
    model = Judge().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=0.01)
    ck = Checkpoint(os.path.join(work, "judge.pt"))
    state = ck.load(model, opt)
    images = torch.from_numpy(train["images"])
    tg_all = judge_targets(train)
    n, bs, total = len(images), cfg["batch"], cfg["steps"]
    model.train()
    t0 = time.time() - state["elapsed"]
    step = state["step"]
    while step < total:
        idx = batch_indices(cfg["seed"], step, n, bs)
        rng = np.random.default_rng([cfg["seed"], 999, step])
        torch.manual_seed(cfg["seed"] * 1000003 + step)
        x = images_to_float(images[idx])
        deg = torch.from_numpy(rng.random(bs) < cfg["p_degrade"])
        if deg.any():
            x[deg] = degrade_32(x[deg])
        noisy = torch.from_numpy(rng.random(bs) < cfg["p_noise"])
        if noisy.any():
            sd = torch.from_numpy(rng.uniform(0, cfg["noise_max"], int(noisy.sum())).astype(np.float32))
            x[noisy] = (x[noisy] + sd.view(-1, 1, 1, 1) * torch.randn_like(x[noisy])).clamp(0, 1)
        x = x.contiguous(memory_format=torch.channels_last)
        lr = lr_at(step, total, cfg["lr"])
        for g in opt.param_groups:
            g["lr"] = lr
        tg = {k: v[idx] for k, v in tg_all.items()}
        out = model(x)
        loss = judge_loss(out, tg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0 or step == total:
            log(f"judge step {step}/{total} loss {loss.item():.4f} lr {lr:.2e} {time.time() - t0:.0f}s")
        if step % cfg["ckpt_every"] == 0 or step == total:
            ck.save(model, opt, {"step": step, "elapsed": time.time() - t0})
    return model
