"""The miniature eDiff-I denoisers (PyTorch): a text-conditioned EDM U-Net for the 32x32 base
stage (with paint-with-words inside every cross-attention) and a 32->64 super-resolution U-Net.

Every forward pass uses only ops that export to ONNX opset 17 with a dynamic batch axis. The
exported graphs are the `Denoiser` wrappers: EDM preconditioning inside, so the graph's output is
D(x; sigma) (the bundle's parameterization "x0") and `sigma` is the plain noise level [B].

Conditioning (the bundle roles):
  t5_tokens [B,Lt,128], t5_mask [B,Lt]              mini-T5 token states (zeros when T5 is off)
  clip_tokens [B,Lc,128], clip_mask [B,Lc]          mini-CLIP text token states (zeros when off)
  clip_pooled [B,128]                               added to the noise embedding
  image_embedding [B,128]                           mini-CLIP image embedding (style), added too
  attention_bias [B,H*W,Lt+Lc]                      paint-with-words (base only), 32x32 pixels
Cross-attention attends over [proj(T5) ; proj(CLIP) ; one learned null token]; the null token
keeps the softmax defined when both encoders are off (all keys masked).
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA_DATA = 0.5
NEG = -1e9
EMB = 128       # noise-embedding width
CTX = 128       # projected text-token width
TEXT_DIM = 128  # width of the mini encoders' outputs


def group_norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if c % 8 == 0 else 4, c)


class FourierEmb(nn.Module):
    """Sinusoidal embedding of a scalar per sample (c_noise = ln(sigma)/4)."""

    def __init__(self, dim: int, max_period: float = 10000.0):
        super().__init__()
        half = dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(max_period) * torch.arange(half) / half) * 250.0,
                             persistent=False)

    def forward(self, t):  # t [B]
        a = t[:, None] * self.freqs[None]
        return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int = EMB):
        super().__init__()
        self.n1 = group_norm(cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, 2 * cout)
        self.n2 = group_norm(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(emb)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.n2(h) * (1 + scale) + shift)
        return self.skip(x) + self.c2(h)


class SelfAttention(nn.Module):
    def __init__(self, c: int, heads: int):
        super().__init__()
        self.heads = heads
        self.n = group_norm(c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.out = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        q, k, v = self.qkv(self.n(x)).reshape(b, 3, self.heads, d, h * w).unbind(1)
        att = (q.transpose(-1, -2) @ k) * (1.0 / math.sqrt(d))          # [B,h,N,N]
        o = v @ att.softmax(-1).transpose(-1, -2)                          # [B,h,d,N]
        return x + self.out(o.reshape(b, c, h, w))


class CrossAttention(nn.Module):
    """Cross-attention over the text context with eDiff-I's paint-with-words bias:
    logits = (Q K^T + w) / sqrt(d), w = bias * log(1 + sigma) * max(Q K^T) (max per sample and
    head over all queries and keys), bias resized (area) from 32x32 to this layer's resolution.
    A zero bias adds exact zeros: the logits are unchanged bit for bit."""

    def __init__(self, c: int, heads: int, ctx: int = CTX):
        super().__init__()
        self.heads = heads
        self.n = group_norm(c)
        self.q = nn.Conv2d(c, c, 1, bias=False)
        self.kv = nn.Linear(ctx, 2 * c, bias=False)
        self.out = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.keep = False   # training with the grounding loss (mini2.grounding) reads self.att
        self.att = None

    def forward(self, x, ctx, key_bias, pww: Optional[torch.Tensor], log_sigma1: Optional[torch.Tensor]):
        # ctx [B,L,CTX]; key_bias [B,1,1,L] (0 or NEG); pww [B,1,N,L] at this resolution or None
        b, c, h, w = x.shape
        d = c // self.heads
        L = ctx.shape[1]
        q = self.q(self.n(x)).reshape(b, self.heads, d, h * w).transpose(-1, -2)   # [B,h,N,d]
        k, v = self.kv(ctx).reshape(b, L, 2, self.heads, d).permute(2, 0, 3, 1, 4).unbind(0)  # [B,h,L,d]
        qk = q @ k.transpose(-1, -2)                                                  # [B,h,N,L]
        if pww is not None:
            m = qk.amax(dim=(-2, -1), keepdim=True)                                   # [B,h,1,1]
            qk = qk + pww * log_sigma1 * m
        att = (qk * (1.0 / math.sqrt(d)) + key_bias).softmax(-1)
        if self.keep:
            self.att = att
        o = (att @ v).transpose(-1, -2).reshape(b, c, h, w)
        return x + self.out(o)


class TextContext(nn.Module):
    """Projects T5 and CLIP token states to the shared context width and appends a learned
    null token (always attended; keeps the softmax defined when every key is masked)."""

    def __init__(self, ctx: int = CTX, dim: int = TEXT_DIM):
        super().__init__()
        self.t5 = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, ctx))
        self.clip = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, ctx))
        self.null = nn.Parameter(torch.randn(1, 1, ctx) * 0.02)

    def forward(self, t5, t5_mask, clip, clip_mask):
        b = t5.shape[0]
        ctx = torch.cat([self.t5(t5), self.clip(clip), self.null.expand(b, 1, -1)], dim=1)
        ones = torch.ones(b, 1, dtype=t5_mask.dtype, device=t5_mask.device)
        mask = torch.cat([t5_mask, clip_mask, ones], dim=1)                        # [B,L+1]
        key_bias = ((1.0 - mask) * NEG)[:, None, None, :]
        return ctx, key_bias


class TextRefiner(nn.Module):
    """Bidirectional transformer layers over the projected context [T5 ; CLIP ; null] and an
    attention-pooled summary of it for the noise embedding ([mini-3], relation words).

    Why: mini-CLIP is causal, so the first object's tokens in "a red circle above a blue square"
    never see "above", and its pooled embedding is blind to the direction of a relation; the
    denoiser ignored the relation word in every training run. Here the denoiser itself can move
    the relation into each object's tokens (and into a global vector, the path by which one-object
    positions were learned). Every residual branch and the pooled output start at zero, so a model
    warm-started from one without the refiner is the same function at step 0."""

    def __init__(self, ctx: int = CTX, layers: int = 2, heads: int = 4, mlp: int = 256, emb: int = EMB):
        super().__init__()
        self.heads = heads
        self.n1 = nn.ModuleList(nn.LayerNorm(ctx) for _ in range(layers))
        self.qkv = nn.ModuleList(nn.Linear(ctx, 3 * ctx) for _ in range(layers))
        self.o = nn.ModuleList(nn.Linear(ctx, ctx) for _ in range(layers))
        self.n2 = nn.ModuleList(nn.LayerNorm(ctx) for _ in range(layers))
        self.f1 = nn.ModuleList(nn.Linear(ctx, mlp) for _ in range(layers))
        self.f2 = nn.ModuleList(nn.Linear(mlp, ctx) for _ in range(layers))
        self.pool_q = nn.Parameter(torch.randn(1, 1, ctx) * 0.02)
        self.pool_n = nn.LayerNorm(ctx)
        self.pool_kv = nn.Linear(ctx, 2 * ctx)
        self.pool_out = nn.Linear(ctx, emb)
        for m in list(self.o) + list(self.f2) + [self.pool_out]:
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, ctx, key_bias):
        # ctx [B,L,C]; key_bias [B,1,1,L] (0 or NEG; the null token is always 0)
        b, L, c = ctx.shape
        d = c // self.heads
        h = ctx
        for i in range(len(self.qkv)):
            q, k, v = self.qkv[i](self.n1[i](h)).reshape(b, L, 3, self.heads, d).permute(2, 0, 3, 1, 4).unbind(0)
            att = ((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(d)) + key_bias).softmax(-1)
            h = h + self.o[i]((att @ v).transpose(1, 2).reshape(b, L, c))
            h = h + self.f2[i](F.gelu(self.f1[i](self.n2[i](h))))
        k, v = self.pool_kv(self.pool_n(h)).chunk(2, dim=-1)
        a = ((self.pool_q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(c)) + key_bias[:, 0]).softmax(-1)  # [B,1,L]
        return h, self.pool_out((a @ v)[:, 0])


def coord_features(r: int) -> torch.Tensor:
    """[1, PE_CH, r, r]: pixel-centre coordinates x, y in [-1, 1] and sin/cos of pi*f*x, pi*f*y
    for f = 1, 2, 4. Convolutions with zero padding see the border only within their receptive
    field and self-attention is permutation-equivariant, so without these the middle of the image
    cannot tell where it is and "at the top left" cannot be placed."""
    c = (torch.arange(r, dtype=torch.float32) + 0.5) / r * 2 - 1
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    feats = [xx, yy]
    for f in (1.0, 2.0, 4.0):
        for v in (xx, yy):
            feats += [torch.sin(math.pi * f * v), torch.cos(math.pi * f * v)]
    return torch.stack(feats)[None]


PE_CH = 14


class UNet(nn.Module):
    """EDM F-network. levels: channels per resolution; attn: per level (self_attn, cross_attn).
    Input channels 3 (+3 for the SR model's low-res image)."""

    def __init__(self, channels: Sequence[int] = (32, 64, 96), self_attn=(False, False, True),
                 cross_attn=(False, True, True), heads: int = 2, in_ch: int = 3, sr: bool = False,
                 res_hw: int = 32, pos_emb: bool = False, refiner: bool = False):
        super().__init__()
        self.sr = sr
        self.pos_emb = pos_emb
        self.res_hw = res_hw
        self.noise_emb = FourierEmb(EMB)
        self.emb = nn.Sequential(nn.Linear(EMB, EMB), nn.SiLU(), nn.Linear(EMB, EMB))
        self.pooled = nn.Linear(TEXT_DIM, EMB)
        if sr:
            self.aug_emb = FourierEmb(EMB)
            self.aug = nn.Linear(EMB, EMB)
        else:
            self.image = nn.Linear(TEXT_DIM, EMB)
        self.text = TextContext()
        self.refiner = TextRefiner() if refiner else None
        self.inp = nn.Conv2d(in_ch + (3 if sr else 0), channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.down_sa = nn.ModuleList()
        self.down_ca = nn.ModuleList()
        self.pools = nn.ModuleList()
        prev = channels[0]
        for i, c in enumerate(channels):
            self.down.append(ResBlock(prev, c))
            self.down_sa.append(SelfAttention(c, heads) if self_attn[i] else nn.Identity())
            self.down_ca.append(CrossAttention(c, heads) if cross_attn[i] else nn.Identity())
            if i < len(channels) - 1:
                self.pools.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
            prev = c
        cm = channels[-1]
        self.mid1 = ResBlock(cm, cm)
        self.mid_sa = SelfAttention(cm, heads) if self_attn[-1] else nn.Identity()
        self.mid_ca = CrossAttention(cm, heads) if cross_attn[-1] else nn.Identity()
        self.mid2 = ResBlock(cm, cm)
        self.up = nn.ModuleList()
        self.up_sa = nn.ModuleList()
        self.up_ca = nn.ModuleList()
        self.ups = nn.ModuleList()
        prev = cm
        for i in reversed(range(len(channels))):
            c = channels[i]
            self.up.append(ResBlock(prev + c, c))
            self.up_sa.append(SelfAttention(c, heads) if self_attn[i] else nn.Identity())
            self.up_ca.append(CrossAttention(c, heads) if cross_attn[i] else nn.Identity())
            if i > 0:
                self.ups.append(nn.Conv2d(c, channels[i - 1], 3, padding=1))
                prev = channels[i - 1]
        if pos_emb:
            # per level, a 1x1 projection of the coordinate features added after the down ResBlock
            # (before the attention) and after each upsampling; zero-initialised, so a model
            # trained without them warm-starts as the same function
            self.pe_down = nn.ModuleList(nn.Conv2d(PE_CH, c, 1) for c in channels)
            self.pe_up = nn.ModuleList(nn.Conv2d(PE_CH, channels[i - 1], 1)
                                       for i in reversed(range(1, len(channels))))
            for m in list(self.pe_down) + list(self.pe_up):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
            for i in range(len(channels)):
                r = res_hw >> i
                self.register_buffer(f"grid{r}", coord_features(r), persistent=False)
        self.out_n = group_norm(channels[0])
        self.out = nn.Conv2d(channels[0], 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @staticmethod
    def _ca(block, h, ctx, key_bias, bias_full, log_sigma1, full_hw):
        if isinstance(block, nn.Identity):
            return h
        pww = None
        if bias_full is not None:
            r = h.shape[-1]
            k = full_hw // r
            b, n, L = bias_full.shape
            pb = bias_full.transpose(1, 2).reshape(b, L, full_hw, full_hw)
            if k > 1:
                pb = F.avg_pool2d(pb, k)
            pb = pb.reshape(b, L, r * r).transpose(1, 2)
            # the null token is never painted
            pww = torch.cat([pb, torch.zeros(b, r * r, 1, dtype=pb.dtype)], dim=2)[:, None]
        return block(h, ctx, key_bias, pww, log_sigma1)

    def forward(self, x, c_noise, cond: Dict[str, torch.Tensor], sigma: torch.Tensor):
        emb = self.emb(self.noise_emb(c_noise)) + self.pooled(cond["clip_pooled"])
        if self.sr:
            emb = emb + self.aug(self.aug_emb(torch.log(cond["augmentation_sigma"] + 1e-3) / 4))
            x = torch.cat([x, cond["low_res"]], dim=1)
        else:
            emb = emb + self.image(cond["image_embedding"])
        emb = F.silu(emb)
        ctx, key_bias = self.text(cond["t5_tokens"], cond["t5_mask"], cond["clip_tokens"], cond["clip_mask"])
        if self.refiner is not None:
            ctx, pooled = self.refiner(ctx, key_bias)
            emb = emb + pooled   # after the SiLU: a zero pooled output leaves emb bit for bit
        bias_full = cond.get("attention_bias")
        log_sigma1 = torch.log1p(sigma)[:, None, None, None]
        full_hw = self.res_hw
        h = self.inp(x)
        skips = []
        for i in range(len(self.down)):
            h = self.down[i](h, emb)
            if self.pos_emb:
                h = h + self.pe_down[i](getattr(self, f"grid{h.shape[-1]}"))
            h = self.down_sa[i](h)
            h = self._ca(self.down_ca[i], h, ctx, key_bias, bias_full, log_sigma1, full_hw)
            skips.append(h)
            if i < len(self.pools):
                h = self.pools[i](h)
        h = self.mid1(h, emb)
        h = self.mid_sa(h)
        h = self._ca(self.mid_ca, h, ctx, key_bias, bias_full, log_sigma1, full_hw)
        h = self.mid2(h, emb)
        for j in range(len(self.up)):
            h = self.up[j](torch.cat([h, skips.pop()], dim=1), emb)
            h = self.up_sa[j](h)
            h = self._ca(self.up_ca[j], h, ctx, key_bias, bias_full, log_sigma1, full_hw)
            if j < len(self.ups):
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
                h = self.ups[j](h)
                if self.pos_emb:
                    h = h + self.pe_up[j](getattr(self, f"grid{h.shape[-1]}"))
        return self.out(F.silu(self.out_n(h)))


class Denoiser(nn.Module):
    """EDM preconditioning around a UNet: D(x; sigma) = c_skip x + c_out F(c_in x, ln(sigma)/4)."""

    def __init__(self, net: UNet):
        super().__init__()
        self.net = net

    def forward(self, x, sigma, cond: Dict[str, torch.Tensor]):
        s = sigma.reshape(-1, 1, 1, 1)
        s2 = s * s
        sd2 = SIGMA_DATA * SIGMA_DATA
        c_skip = sd2 / (s2 + sd2)
        c_out = s * SIGMA_DATA / torch.sqrt(s2 + sd2)
        c_in = 1.0 / torch.sqrt(s2 + sd2)
        c_noise = torch.log(sigma) / 4
        return c_skip * x + c_out * self.net(c_in * x, c_noise, cond, sigma)


BASE_INPUTS = ["x", "sigma", "t5_tokens", "t5_mask", "clip_tokens", "clip_mask", "clip_pooled",
               "image_embedding", "attention_bias"]
SR_INPUTS = ["x", "sigma", "t5_tokens", "t5_mask", "clip_tokens", "clip_mask", "clip_pooled",
             "low_res", "augmentation_sigma"]


class ExportWrapper(nn.Module):
    """Positional inputs in the order of `names` (for torch.onnx.export)."""

    def __init__(self, den: Denoiser, names):
        super().__init__()
        self.den = den
        self.names = list(names)

    def forward(self, *args):
        d = dict(zip(self.names, args))
        cond = {k: v for k, v in d.items() if k not in ("x", "sigma")}
        return self.den(d["x"], d["sigma"], cond)


def base_model(cfg: Dict) -> Denoiser:
    return Denoiser(UNet(cfg["channels"], tuple(cfg["self_attn"]), tuple(cfg["cross_attn"]), cfg["heads"],
                         sr=False, res_hw=32, pos_emb=cfg.get("pos_emb", False),
                         refiner=cfg.get("refiner", False)))


def sr_model(cfg: Dict) -> Denoiser:
    return Denoiser(UNet(cfg["channels"], tuple(cfg["self_attn"]), tuple(cfg["cross_attn"]), cfg["heads"],
                         sr=True, res_hw=64))


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
