"""Tiny random-weight denoisers and VAE halves with the input/output contracts of the published
ONNX exports (diffusers UNet2DConditionModel, SD3Transformer2DModel, AutoencoderKL decoder and
encoder as optimum exports them). The architecture is a miniature, the interface is the real one.
"""
import math

import torch
from torch import nn


def timestep_embedding(t, dim, flip_sin_to_cos=True, freq_shift=0.0, max_period=10000):
    """diffusers' Timesteps: sinusoids of t over dim // 2 frequencies, cos first when flipped."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32) / (half - freq_shift)
    arg = t.to(torch.float32)[:, None] * torch.exp(exponent)[None, :]
    sin, cos = torch.sin(arg), torch.cos(arg)
    return torch.cat([cos, sin], dim=-1) if flip_sin_to_cos else torch.cat([sin, cos], dim=-1)


def batch_timestep(timestep, batch):
    """The three published timestep forms (int64 [B], float [B], float scalar) as float [B]."""
    t = timestep.to(torch.float32)
    if t.dim() == 0:
        t = t.reshape(1)
    return t.expand(batch)


class Attention(nn.Module):
    """Multi-head attention with separate q/k/v projections, written as the matmul-softmax-matmul
    that PyTorch exports (cross-attention when a context is given)."""

    def __init__(self, dim, ctx_dim, heads, head_dim):
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim = heads, head_dim
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(ctx_dim, inner, bias=False)
        self.to_v = nn.Linear(ctx_dim, inner, bias=False)
        self.to_out = nn.Linear(inner, dim)

    def split(self, x):
        b, n, _ = x.shape
        return x.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        q, k, v = self.split(self.to_q(x)), self.split(self.to_k(ctx)), self.split(self.to_v(ctx))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        out = (w @ v).transpose(1, 2)
        return self.to_out(out.reshape(out.shape[0], out.shape[1], -1))


class ResBlock(nn.Module):
    def __init__(self, ch, temb_dim, groups):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, ch), nn.Conv2d(ch, ch, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, ch)
        self.norm2, self.conv2 = nn.GroupNorm(groups, ch), nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x, temb):
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = h + self.time_emb_proj(nn.functional.silu(temb))[:, :, None, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return x + h


class SpatialTransformer(nn.Module):
    """GroupNorm, linear projection in, self-attention, cross-attention on the text, MLP, out."""

    def __init__(self, ch, ctx_dim, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch)
        self.proj_in = nn.Linear(ch, ch)
        self.norm1, self.attn1 = nn.LayerNorm(ch), Attention(ch, ch, heads, ch // heads)
        self.norm2, self.attn2 = nn.LayerNorm(ch), Attention(ch, ctx_dim, heads, ch // heads)
        self.norm3 = nn.LayerNorm(ch)
        self.ff = nn.Sequential(nn.Linear(ch, 2 * ch), nn.GELU(), nn.Linear(2 * ch, ch))
        self.proj_out = nn.Linear(ch, ch)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        t = self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c)
        t = self.proj_in(t)
        t = t + self.attn1(self.norm1(t))
        t = t + self.attn2(self.norm2(t), ctx)
        t = t + self.ff(self.norm3(t))
        t = self.proj_out(t).reshape(b, h, w, c).permute(0, 3, 1, 2)
        return x + t


class TinyUNet(nn.Module):
    """UNet2DConditionModel's contract: sample [B,C,H,W], timestep, encoder_hidden_states [B,S,D]
    (+ SDXL's text_embeds [B,P] and time_ids [B,K]) -> out_sample [B,C,H,W]."""

    def __init__(self, in_ch, ch, ctx_dim, heads=2, groups=8, add_embed=None):
        super().__init__()
        self.ch = ch
        self.conv_in = nn.Conv2d(in_ch, ch, 3, padding=1)
        self.time_embedding = nn.Sequential(nn.Linear(ch, 2 * ch), nn.SiLU(), nn.Linear(2 * ch, 2 * ch))
        self.add_embed = add_embed  # (addition_time_embed_dim, projection_dim, n_time_ids) or None
        if add_embed is not None:
            per, proj, k = add_embed
            self.add_embedding = nn.Sequential(nn.Linear(proj + per * k, 2 * ch), nn.SiLU(), nn.Linear(2 * ch, 2 * ch))
        self.res = ResBlock(ch, 2 * ch, groups)
        self.attn = SpatialTransformer(ch, ctx_dim, heads, groups)
        self.res2 = ResBlock(ch, 2 * ch, groups)
        self.norm_out = nn.GroupNorm(groups, ch)
        self.conv_out = nn.Conv2d(ch, in_ch, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None):
        b = sample.shape[0]
        t = batch_timestep(timestep, b)
        temb = self.time_embedding(timestep_embedding(t, self.ch, True, 0.0).to(sample.dtype))
        if self.add_embed is not None:
            per = self.add_embed[0]
            tid = timestep_embedding(time_ids.reshape(-1), per, True, 0.0).reshape(b, -1).to(sample.dtype)
            temb = temb + self.add_embedding(torch.cat([text_embeds, tid], dim=-1))
        h = self.conv_in(sample)
        h = self.res(h, temb)
        h = self.attn(h, encoder_hidden_states)
        h = self.res2(h, temb)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


class AdaNormZero(nn.Module):
    """LayerNorm without affine, modulated by 6 vectors from the conditioning (shift, scale, gate
    for attention and for the MLP)."""

    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, 6 * dim)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)

    def forward(self, x, emb):
        sh, sc, g, sh2, sc2, g2 = self.linear(nn.functional.silu(emb)).chunk(6, dim=1)
        return self.norm(x) * (1 + sc[:, None]) + sh[:, None], g, sh2, sc2, g2


class JointBlock(nn.Module):
    """MMDiT block: image and text tokens with their own weights, one attention over both."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.norm1, self.norm1_context = AdaNormZero(dim), AdaNormZero(dim)
        self.qkv, self.add_qkv = nn.Linear(dim, 3 * dim), nn.Linear(dim, 3 * dim)
        self.to_out, self.to_add_out = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.norm2_context = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"), nn.Linear(2 * dim, dim))
        self.ff_context = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"), nn.Linear(2 * dim, dim))

    def forward(self, x, c, emb):
        nx, g, sh2, sc2, g2 = self.norm1(x, emb)
        nc, cg, csh2, csc2, cg2 = self.norm1_context(c, emb)
        n = x.shape[1]
        qkv = torch.cat([self.qkv(nx), self.add_qkv(nc)], dim=1)
        b, L, _ = qkv.shape
        q, k, v = qkv.reshape(b, L, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.hd), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, L, -1)
        x = x + g[:, None] * self.to_out(o[:, :n])
        c = c + cg[:, None] * self.to_add_out(o[:, n:])
        x = x + g2[:, None] * self.ff(self.norm2(x) * (1 + sc2[:, None]) + sh2[:, None])
        c = c + cg2[:, None] * self.ff_context(self.norm2_context(c) * (1 + csc2[:, None]) + csh2[:, None])
        return x, c


class TinyMMDiT(nn.Module):
    """SD3Transformer2DModel's contract: hidden_states [B,C,H,W], encoder_hidden_states [B,S,J],
    pooled_projections [B,P], timestep float [B] (sigma * 1000) -> out_hidden_states [B,C,H,W]."""

    def __init__(self, in_ch, dim, joint_dim, pooled_dim, patch=2, heads=2, max_hw=16):
        super().__init__()
        self.patch, self.in_ch, self.dim = patch, in_ch, dim
        self.pos_embed = nn.Parameter(torch.randn(1, (max_hw // patch) ** 2, dim) * 0.02)
        self.max_side = max_hw // patch
        self.proj = nn.Conv2d(in_ch, dim, patch, stride=patch)
        self.timestep_embedder = nn.Sequential(nn.Linear(256, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.text_embedder = nn.Sequential(nn.Linear(pooled_dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.context_embedder = nn.Linear(joint_dim, dim)
        self.block = JointBlock(dim, heads)
        self.norm_out_linear = nn.Linear(dim, 2 * dim)
        self.norm_out = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.proj_out = nn.Linear(dim, patch * patch * in_ch)

    def forward(self, hidden_states, encoder_hidden_states, pooled_projections, timestep):
        b, _, h, w = hidden_states.shape
        p = self.patch
        t = batch_timestep(timestep, b)
        emb = self.timestep_embedder(timestep_embedding(t, 256, True, 0.0)) + self.text_embedder(pooled_projections)
        x = self.proj(hidden_states).flatten(2).transpose(1, 2)
        gh, gw = h // p, w // p
        pos = self.pos_embed.reshape(1, self.max_side, self.max_side, self.dim)[:, :gh, :gw].reshape(1, gh * gw, self.dim)
        x = x + pos
        c = self.context_embedder(encoder_hidden_states)
        x, c = self.block(x, c, emb)
        scale, shift = self.norm_out_linear(nn.functional.silu(emb)).chunk(2, dim=1)
        x = self.norm_out(x) * (1 + scale[:, None]) + shift[:, None]
        x = self.proj_out(x)
        x = x.reshape(b, gh, gw, p, p, self.in_ch).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, self.in_ch, gh * p, gw * p)


class TinyVaeDecoder(nn.Module):
    """AutoencoderKL decoder as exported: latent_sample [B,C,h,w] -> sample [B,3,8h,8w]
    (post_quant_conv included when the VAE has one)."""

    def __init__(self, lat_ch, ch=16, quant=True):
        super().__init__()
        self.post_quant_conv = nn.Conv2d(lat_ch, lat_ch, 1) if quant else nn.Identity()
        self.conv_in = nn.Conv2d(lat_ch, ch, 3, padding=1)
        self.ups = nn.ModuleList([nn.Conv2d(ch, ch, 3, padding=1) for _ in range(3)])
        self.norm = nn.GroupNorm(4, ch)
        self.conv_out = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, latent_sample):
        h = self.conv_in(self.post_quant_conv(latent_sample))
        for conv in self.ups:
            h = nn.functional.silu(conv(nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")))
        return self.conv_out(nn.functional.silu(self.norm(h)))


class TinyVaeEncoder(nn.Module):
    """AutoencoderKL encoder as optimum exports it: sample [B,3,H,W] -> latent_parameters
    [B,2C,H/8,W/8] (mean and log-variance, quant_conv included)."""

    def __init__(self, lat_ch, ch=16, quant=True):
        super().__init__()
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.downs = nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1) for _ in range(3)])
        self.conv_out = nn.Conv2d(ch, 2 * lat_ch, 3, padding=1)
        self.quant_conv = nn.Conv2d(2 * lat_ch, 2 * lat_ch, 1) if quant else nn.Identity()

    def forward(self, sample):
        h = self.conv_in(sample)
        for conv in self.downs:
            h = nn.functional.silu(conv(h))
        return self.quant_conv(self.conv_out(h))


# ---------------------------------------------------------------------------------------------
# realistic size (benchmarks only; never committed): the SD 1.5 U-Net's published shape

class Res(nn.Module):
    """ResBlock whose input and output widths may differ (1x1 shortcut), GroupNorm 32 as in SD."""

    def __init__(self, cin, cout, temb_dim, groups=32):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = h + self.time_emb_proj(nn.functional.silu(temb))[:, :, None, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return self.shortcut(x) + h


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * nn.functional.gelu(gate)


class SDTransformer(SpatialTransformer):
    """SpatialTransformer with SD's GEGLU feed-forward (inner width 4 x channels) and GroupNorm 32."""

    def __init__(self, ch, ctx_dim, heads):
        super().__init__(ch, ctx_dim, heads, 32)
        self.ff = nn.Sequential(GEGLU(ch, 4 * ch), nn.Linear(4 * ch, ch))


class SD15UNet(nn.Module):
    """UNet2DConditionModel with SD 1.5's published configuration: block_out_channels 320/640/1280/1280,
    2 layers per down block (3 per up block), cross-attention in the first three levels, 8 heads,
    cross_attention_dim 768, time embedding 1280. Same contract as TinyUNet (sample, timestep,
    encoder_hidden_states -> out_sample); about 860M parameters, random weights."""

    def __init__(self, in_ch=4, channels=(320, 640, 1280, 1280), ctx_dim=768, heads=8, layers=2):
        super().__init__()
        self.ch = channels[0]
        temb = 4 * channels[0]
        self.conv_in = nn.Conv2d(in_ch, channels[0], 3, padding=1)
        self.time_embedding = nn.Sequential(nn.Linear(channels[0], temb), nn.SiLU(), nn.Linear(temb, temb))
        attn = [True, True, True, False]
        skips = [channels[0]]
        self.down = nn.ModuleList()
        cin = channels[0]
        for level, cout in enumerate(channels):
            blocks = nn.ModuleList()
            for _ in range(layers):
                blocks.append(nn.ModuleList([Res(cin, cout, temb)] + ([SDTransformer(cout, ctx_dim, heads)] if attn[level] else [])))
                cin = cout
                skips.append(cout)
            down = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if level < len(channels) - 1 else None
            if down is not None:
                skips.append(cout)
            self.down.append(nn.ModuleList([blocks, down if down is not None else nn.Identity()]))
        self.n_levels = len(channels)
        self.mid_res1 = Res(cin, cin, temb)
        self.mid_attn = SDTransformer(cin, ctx_dim, heads)
        self.mid_res2 = Res(cin, cin, temb)
        self.up = nn.ModuleList()
        for level, cout in enumerate(reversed(channels)):
            blocks = nn.ModuleList()
            has_attn = attn[len(channels) - 1 - level]
            for _ in range(layers + 1):
                skip = skips.pop()
                blocks.append(nn.ModuleList([Res(cin + skip, cout, temb)] + ([SDTransformer(cout, ctx_dim, heads)] if has_attn else [])))
                cin = cout
            up = nn.Conv2d(cout, cout, 3, padding=1) if level < len(channels) - 1 else nn.Identity()
            self.up.append(nn.ModuleList([blocks, up]))
        self.norm_out = nn.GroupNorm(32, channels[0])
        self.conv_out = nn.Conv2d(channels[0], in_ch, 3, padding=1)

    @staticmethod
    def _block(parts, h, temb, ctx):
        h = parts[0](h, temb)
        if len(parts) > 1:
            h = parts[1](h, ctx)
        return h

    def forward(self, sample, timestep, encoder_hidden_states):
        b = sample.shape[0]
        t = batch_timestep(timestep, b)
        temb = self.time_embedding(timestep_embedding(t, self.ch, True, 0.0).to(sample.dtype))
        h = self.conv_in(sample)
        skips = [h]
        for level, (blocks, down) in enumerate(self.down):
            for parts in blocks:
                h = self._block(parts, h, temb, encoder_hidden_states)
                skips.append(h)
            if level < self.n_levels - 1:
                h = down(h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, temb), encoder_hidden_states), temb)
        for level, (blocks, up) in enumerate(self.up):
            for parts in blocks:
                h = self._block(parts, torch.cat([h, skips.pop()], dim=1), temb, encoder_hidden_states)
            if level < self.n_levels - 1:
                h = up(nn.functional.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


class SDVaeDecoder(nn.Module):
    """AutoencoderKL decoder with SD's published widths (block_out_channels 128/256/512/512, 3 resnets
    per up block, one mid attention), latent_sample [B,4,h,w] -> sample [B,3,8h,8w]; random weights."""

    def __init__(self, lat_ch=4, channels=(128, 256, 512, 512)):
        super().__init__()
        top = channels[-1]
        self.post_quant_conv = nn.Conv2d(lat_ch, lat_ch, 1)
        self.conv_in = nn.Conv2d(lat_ch, top, 3, padding=1)
        self.mid1, self.mid2 = Res(top, top, 1), Res(top, top, 1)
        self.mid_norm, self.mid_attn = nn.GroupNorm(32, top), Attention(top, top, 1, top)
        self.ups = nn.ModuleList()
        cin = top
        for level, cout in enumerate(reversed(channels)):
            res = nn.ModuleList([Res(cin if i == 0 else cout, cout, 1) for i in range(3)])
            cin = cout
            up = nn.Conv2d(cout, cout, 3, padding=1) if level < len(channels) - 1 else nn.Identity()
            self.ups.append(nn.ModuleList([res, up]))
        self.norm_out = nn.GroupNorm(32, channels[0])
        self.conv_out = nn.Conv2d(channels[0], 3, 3, padding=1)

    def forward(self, latent_sample):
        zero = torch.zeros(latent_sample.shape[0], 1, dtype=latent_sample.dtype)
        h = self.conv_in(self.post_quant_conv(latent_sample))
        h = self.mid1(h, zero)
        b, c, hh, ww = h.shape
        t = self.mid_norm(h).permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        h = h + self.mid_attn(t).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        h = self.mid2(h, zero)
        for level, (res, up) in enumerate(self.ups):
            for r in res:
                h = r(h, zero)
            if level < len(self.ups) - 1:
                h = up(nn.functional.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(nn.functional.silu(self.norm_out(h)))
