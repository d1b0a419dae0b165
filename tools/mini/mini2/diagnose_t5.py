"""Experiment (not part of the build): why does the base denoiser not use the mini-T5 tokens?

On one-object and two-object test images (regenerated from their seeds) it measures
  1. the encoder outputs: token-state scale of T5 vs CLIP, and how much T5 states differ between
     captions after the model's own input LayerNorm;
  2. where cross-attention looks: the softmax mass on T5 keys, CLIP keys and the null token;
  3. the denoising error with both encoders, T5 only, CLIP only and neither, per noise level.

    python -m mini2.diagnose_t5 CKPT.pt [CKPT.pt ...] [--n 200]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

from mini import data
from mini.build import FULL
from mini.encoders import frozen_encoders
from .build import MODELS
from .train import make_model
from .unet import CrossAttention


def test_batch(n: int):
    imgs, caps = [], []
    for i in range(n):
        img, _, cap, _ = data.example(FULL["seed"], "test", i)
        imgs.append(img)
        caps.append(cap)
    x = F.avg_pool2d(torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div(127.5).sub(1), 2)
    return x, caps


def conds(enc, caps):
    t5, t5m = enc.t5(caps)
    ct, cm, cp = enc.clip_text(caps)
    both = {"t5_tokens": t5, "t5_mask": t5m.float(), "clip_tokens": ct, "clip_mask": cm.float(),
            "clip_pooled": cp, "image_embedding": torch.zeros(len(caps), 128)}
    z = {k: torch.zeros_like(v) for k, v in both.items()}
    t5only = dict(z, t5_tokens=both["t5_tokens"], t5_mask=both["t5_mask"])
    cliponly = dict(both, t5_tokens=z["t5_tokens"], t5_mask=z["t5_mask"])
    return {"both": both, "t5_only": t5only, "clip_only": cliponly, "none": z}


def encoder_stats(model, c):
    out = {}
    for name, tok, mask, proj in (("t5", c["t5_tokens"], c["t5_mask"], model.net.text.t5),
                                  ("clip", c["clip_tokens"], c["clip_mask"], model.net.text.clip)):
        m = mask.bool()
        real = tok[m]                                             # [n_tokens, 128]
        ln = proj[0](real)
        # the same token position across different captions: how different are the states?
        pos = tok[:, 1][m[:, 1]]
        pn = F.normalize(proj[0](pos), dim=-1)
        cos = (pn @ pn.T)[~torch.eye(len(pn), dtype=torch.bool)].mean()
        with torch.no_grad():
            k = proj(real)
        out[name] = {"token_norm": round(real.norm(dim=-1).mean().item(), 3),
                     "top_channel_share_of_sq": round((real ** 2).mean(0).max().item() / (real ** 2).mean(0).sum().item(), 3),
                     "std_over_captions_at_pos1": round(pos.std(0).mean().item(), 4),
                     "cos_between_captions_at_pos1_after_ln": round(cos.item(), 3),
                     "projected_norm": round(k.norm(dim=-1).mean().item(), 3),
                     "ln_out_norm": round(ln.norm(dim=-1).mean().item(), 3)}
    return out


def attention_mass(model, x, c, sigma):
    """Mean softmax mass per cross-attention layer on [T5 keys, CLIP keys, null]."""
    masses = []
    Lt = c["t5_tokens"].shape[1]
    Lc = c["clip_tokens"].shape[1]

    def hook(mod, inp, out):
        h, ctx, key_bias, pww, ls = inp
        b, ch, hh, ww = h.shape
        d = ch // mod.heads
        q = mod.q(mod.n(h)).reshape(b, mod.heads, d, hh * ww).transpose(-1, -2)
        kk, _ = mod.kv(ctx).reshape(b, ctx.shape[1], 2, mod.heads, d).permute(2, 0, 3, 1, 4).unbind(0)
        att = ((q @ kk.transpose(-1, -2)) / d ** 0.5 + key_bias).softmax(-1).mean(dim=(1, 2))   # [B, L]
        masses.append([att[:, :Lt].sum(-1).mean().item(), att[:, Lt:Lt + Lc].sum(-1).mean().item(),
                       att[:, -1].mean().item()])
    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, CrossAttention)]
    s = torch.full((x.shape[0],), sigma)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model(x + sigma * torch.randn(x.shape, generator=g), s, c)
    for h in hs:
        h.remove()
    return [[round(v, 3) for v in m] for m in masses]


def errors(model, x, cs, sigmas=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0)):
    out = {}
    for s in sigmas:
        g = torch.Generator().manual_seed(1)
        noise = torch.randn(x.shape, generator=g)
        sv = torch.full((x.shape[0],), s)
        with torch.no_grad():
            out[s] = {k: round(((model(x + s * noise, sv, c) - x) ** 2).mean().item(), 5) for k, c in cs.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpts", nargs="+")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    x, caps = test_batch(args.n)
    enc = frozen_encoders(max_len=24)
    cs = conds(enc, caps)
    for p in args.ckpts:
        ck = torch.load(p, map_location="cpu", weights_only=False)
        model = make_model("base", {"base": MODELS["base"]}, ck.get("phase"))
        model.load_state_dict(ck["ema"])
        model.eval()
        with torch.no_grad():
            rep = {"ckpt": p, "encoders": encoder_stats(model, cs["both"]),
                   "attention_mass_t5_clip_null_sigma4_both": attention_mass(model, x, cs["both"], 4.0),
                   "attention_mass_t5_clip_null_sigma4_t5only": attention_mass(model, x, cs["t5_only"], 4.0),
                   "errors": errors(model, x, cs)}
        print(json.dumps(rep), flush=True)


if __name__ == "__main__":
    main()
