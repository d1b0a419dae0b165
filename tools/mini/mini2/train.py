"""EDM training of one phase (a model trained for some steps on a noise interval), resumable.

A phase checkpoint work/mini2/<phase>.pt holds the model, its EMA, the optimizer and the step.
A phase that starts from a parent (expert branching, baseline continuation) copies the parent's
final model and EMA. Batches, sigmas and noise are a pure function of (seed, phase, step).
"""
from __future__ import annotations

import copy
import json
import math
import os
import time
from typing import Dict

import numpy as np
import torch

from mini.train import log
from .cache import Batches
from .unet import SIGMA_DATA, CrossAttention, base_model, sr_model, n_params

P_MEAN, P_STD = -1.2, 1.2


def sample_sigma(rng: np.random.Generator, n: int, lo: float, hi: float, dist: str,
                 p_mean: float = P_MEAN, p_std: float = P_STD) -> np.ndarray:
    """EDM's log-normal noise levels, restricted to [lo, hi) (inverse CDF of the truncated normal),
    or log-uniform on [lo, hi) ("loguniform", for the top expert whose interval the log-normal
    barely reaches)."""
    P_MEAN, P_STD = p_mean, p_std
    if isinstance(dist, (list, tuple)):
        # a mixture [(weight, lo, hi, dist), ...]: per sample one component (the experts' noise
        # distribution seen by one model: the equal-compute baseline)
        w = np.array([c[0] for c in dist], np.float64)
        k = rng.choice(len(dist), size=n, p=w / w.sum())
        out = np.empty(n)
        for j, (_, clo, chi, cd) in enumerate(dist):
            m = k == j
            out[m] = sample_sigma(rng, int(m.sum()), clo, chi, cd, p_mean, p_std)
        return out
    if dist == "loguniform":
        return np.exp(rng.uniform(math.log(max(lo, 1e-3)), math.log(hi), size=n))
    ndtr = lambda v: float(torch.special.ndtr(torch.tensor(v, dtype=torch.float64)))
    a = ndtr((math.log(max(lo, 1e-12)) - P_MEAN) / P_STD) if lo > 0 else 0.0
    b = ndtr((math.log(hi) - P_MEAN) / P_STD) if math.isfinite(hi) else 1.0
    u = rng.uniform(a, b, size=n)
    z = torch.special.ndtri(torch.from_numpy(np.clip(u, 1e-12, 1 - 1e-12))).numpy()
    return np.exp(P_MEAN + P_STD * z)


def make_model(kind: str, cfg: Dict, ph: Dict = None):
    """ph["model"] overrides the model config for one phase (e.g. the first pretraining phase ran
    without position embeddings)."""
    over = (ph or {}).get("model", {})
    return base_model(dict(cfg["base"], **over)) if kind == "base" else sr_model(dict(cfg["sr"], **over))


def load_grown(model, state: Dict, what: str) -> None:
    """Loads a parent's weights into a model that may have gained zero-initialised position
    embeddings (net.pe_*) or a text refiner (net.refiner.*, residual branches zero-initialised);
    anything else missing or unexpected is an error."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = [k for k in missing if not k.startswith(("net.pe_", "net.refiner."))] + list(unexpected)
    if bad:
        raise RuntimeError(f"{what}: parent weights do not fit: {bad[:5]}")


def ckpt_path(work: str, phase: str) -> str:
    return os.path.join(work, phase + ".pt")


def load_phase(work: str, phase: str):
    return torch.load(ckpt_path(work, phase), map_location="cpu", weights_only=False)


def step_override(work: str, ph: Dict) -> None:
    """work/<steps.json> {"phase": steps}: changes a phase's length while the plan runs."""
    p = os.path.join(work, "steps.json")
    if os.path.exists(p):
        try:
            with open(p) as f:
                o = json.load(f)
        except ValueError:
            return
        if ph["name"] in o and int(o[ph["name"]]) != ph["steps"]:
            log(f"{ph['name']}: steps {ph['steps']} -> {int(o[ph['name']])} (steps.json)")
            ph["steps"] = int(o[ph["name"]])


def phase_done(work: str, ph: Dict) -> bool:
    step_override(work, ph)
    p = ckpt_path(work, ph["name"])
    if not os.path.exists(p):
        return False
    return load_phase(work, ph["name"])["state"]["step"] >= ph["steps"]


def save(path, model, ema, opt, state, ph) -> None:
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "state": state, "phase": ph}, tmp)
    os.replace(tmp, path)


def run_phase(cfg: Dict, ph: Dict, work: str, cache: Dict, deadline: float = float("inf")) -> Dict:
    """Trains phase ph up to ph['steps'] (resuming). Returns its state. Stops early (checkpointed)
    at `deadline` (time.time())."""
    kind = ph["kind"]
    model = make_model(kind, cfg, ph)
    ema = copy.deepcopy(model)
    lr = ph["lr"]
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-8)
    path = ckpt_path(work, ph["name"])
    state = {"step": 0, "elapsed": 0.0, "loss": []}
    if os.path.exists(path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        log(f"{ph['name']}: resumed at step {state['step']}")
    elif ph.get("parent"):
        ck = load_phase(work, ph["parent"])
        load_grown(model, ck["model"], ph["name"])
        load_grown(ema, ck["ema"], ph["name"])
        state["parent_step"] = ck["state"]["step"]
        log(f"{ph['name']}: branched from {ph['parent']} (step {ck['state']['step']})")
    for p in ema.parameters():
        p.requires_grad_(False)
    if state["step"] >= ph["steps"]:
        return state
    log(f"{ph['name']}: {kind}, {n_params(model):,} params, steps {state['step']}->{ph['steps']}, "
        f"sigma [{ph['lo']}, {ph['hi']}) {ph['dist']}, lr {lr}, batch {ph['batch']}")
    if ph.get("phrases"):   # two-object images: each phrase encoded on its own (mini2.phrases)
        from . import phrases
        phrases.apply(work, cache)
    subset = ph.get("subset")
    k_single, k_pair = ph.get("single_repeat", 1), ph.get("pair_repeat", 1)
    if k_single > 1 or k_pair > 1:
        # one-object images with a caption variant that states the cell k_single times as often,
        # two-object images (their captions state a relation) k_pair times as often
        b0 = Batches(cache, seed=ph["seed"])
        single = np.nonzero(b0.placed.any(axis=1) & b0.single)[0]
        pair = np.nonzero(b0.placed.any(axis=1) & ~b0.single)[0]
        subset = np.concatenate([np.arange(cache["x32"].shape[0])] + [single] * (k_single - 1)
                                + [pair] * (k_pair - 1))
        log(f"{ph['name']}: {len(subset)} samples per epoch: one-object with a stated cell "
            f"{len(single) * k_single / len(subset):.1%}, two-object {len(pair) * k_pair / len(subset):.1%}")
    lam = ph.get("ground", 0.0)
    ca = []
    if lam > 0:
        from . import grounding
        cache = dict(cache, **grounding.side_data(work, cache, ph.get("ground_file", "grounding.pt")))
        ca = [m for m in model.modules() if isinstance(m, CrossAttention)]
        for m in ca:
            m.keep = True
        log(f"{ph['name']}: grounding loss weight {lam} on {len(ca)} cross-attention layers")
    batches = Batches(cache, seed=ph["seed"], subset=subset)
    model.train()
    g_terms = []
    t_start = time.time()
    elapsed0 = state["elapsed"]
    step0 = state["step"]
    sd2 = SIGMA_DATA ** 2
    losses = []
    knob = os.path.join(work, "threads")   # echo 1 > work/mini2/threads: share the cores (read every 10 steps)
    while state["step"] < ph["steps"]:
        step = state["step"]
        if step % 10 == 0:
            step_override(work, ph)
            if ph["steps"] <= step:
                save(path, model, ema, opt, state, ph)
                break
        if step % 10 == 0 and os.path.exists(knob):
            try:
                n = int(open(knob).read().strip())
                if n > 0 and n != torch.get_num_threads():
                    torch.set_num_threads(n)
                    log(f"{ph['name']}: {n} threads")
            except ValueError:
                pass
        cur_lr = lr * min(1.0, (step + 1) / ph.get("warmup", 100))
        for g in opt.param_groups:
            g["lr"] = cur_lr
        rng = np.random.default_rng([ph["seed"], 31, step])
        sig_np = sample_sigma(rng, ph["batch"], ph["lo"], ph["hi"], ph["dist"],
                              ph.get("p_mean", P_MEAN), ph.get("p_std", P_STD))
        args = dict(ph.get("batch_args", {}))
        if "placed_above" in ph:   # captions that state where, for the samples at high noise
            args["prefer_placed"] = sig_np >= ph["placed_above"]
        b = batches.get(step, ph["batch"], sr=(kind == "sr"), **args)
        x0 = b.pop("x0")
        gen_seed = b.pop("_gen_seed")
        groups, cells = b.pop("_groups", None), b.pop("_cells", None)
        sigma = torch.from_numpy(sig_np).float()
        g = torch.Generator().manual_seed(gen_seed)
        noise = torch.randn(x0.shape, generator=g)
        s = sigma[:, None, None, None]
        den = model(x0 + s * noise, sigma, b)
        weight = (s * s + sd2) / (s * SIGMA_DATA) ** 2
        loss = (weight * (den - x0) ** 2).mean()
        if lam > 0:
            ones = torch.ones(x0.shape[0], 1)
            ctx_mask = torch.cat([b["t5_mask"], b["clip_mask"], ones], dim=1)
            tok, pix = grounding.loss([m.att for m in ca], groups, cells, ctx_mask)
            g_terms.append((tok.item(), pix.item()))
            loss = loss + lam * (tok + pix)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(ph.get("ema", 0.995), (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        losses.append(loss.item())
        state["step"] = step + 1
        state["elapsed"] = elapsed0 + time.time() - t_start
        done = state["step"] >= ph["steps"]
        if state["step"] % ph.get("log_every", 25) == 0 or done:
            rate = (state["step"] - step0) / max(1e-9, time.time() - t_start)
            gt = (f" grounding token {np.mean([t for t, _ in g_terms[-25:]]):.3f} pixel "
                  f"{np.mean([p for _, p in g_terms[-25:]]):.3f}") if g_terms else ""
            log(f"{ph['name']} step {state['step']}/{ph['steps']} loss {np.mean(losses[-25:]):.4f}{gt} "
                f"lr {cur_lr:.2e} {state['elapsed']:.0f}s ({rate:.2f} steps/s)")
        if state["step"] % ph.get("ckpt_every", 100) == 0 or done or time.time() > deadline:
            state["loss"].append([state["step"], float(np.mean(losses[-100:]))])
            save(path, model, ema, opt, state, ph)
            if time.time() > deadline and not done:
                log(f"{ph['name']}: deadline reached at step {state['step']}, checkpointed")
                break
    return state
