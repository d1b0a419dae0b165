"""The miniature encoders and the judge (PyTorch). All forward passes use only ops that
export cleanly to ONNX opset 17 with a dynamic batch axis."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data
from .toks import CLIP_EOS, CLIP_MAX_LEN, CLIP_VOCAB_SIZE

NEG = -1e9
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)   # OpenAI CLIP's image normalisation
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# ----------------------------------------------------------------------------- mini-CLIP text

class ClipBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.proj = nn.Linear(4 * width, width)

    def forward(self, x, bias):
        b, t, w = x.shape
        h = self.ln_1(x)
        q, k, v = self.qkv(h).reshape(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(w // self.heads)) + bias
        att = att.softmax(-1)
        x = x + self.out((att @ v).transpose(1, 2).reshape(b, t, w))
        h = self.ln_2(x)
        h = self.fc(h)
        h = h * torch.sigmoid(1.702 * h)  # CLIP's quick-GELU
        return x + self.proj(h)


class ClipText(nn.Module):
    """CLIP-style causal text transformer. Input: real CLIP BPE ids; a constant gather table
    maps them to the small local vocabulary (ids outside the caption grammar -> 0 = UNK).
    Output: final-LayerNorm token states [B,77,width] and the projected state at the first
    <|endoftext|> [B,embed]."""

    def __init__(self, remap_table: torch.Tensor, n_local: int, width=128, layers=3, heads=4,
                 embed=128, ctx=CLIP_MAX_LEN):
        super().__init__()
        assert n_local <= 256
        self.register_buffer("remap", remap_table.clone().to(torch.uint8), persistent=True)
        self.tok = nn.Embedding(n_local, width)
        self.pos = nn.Parameter(torch.randn(ctx, width) * 0.01)
        self.blocks = nn.ModuleList([ClipBlock(width, heads) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Linear(width, embed, bias=False)
        nn.init.normal_(self.tok.weight, std=0.02)
        causal = torch.triu(torch.full((ctx, ctx), NEG), diagonal=1)
        self.register_buffer("causal", causal, persistent=False)
        self.ctx = ctx

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        local = self.remap[input_ids].long()
        x = self.tok(local) + self.pos[:t]
        key_bias = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * NEG
        bias = self.causal[:t, :t][None, None] + key_bias
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.ln_final(x)
        eos_pos = (input_ids == CLIP_EOS).to(torch.float32).argmax(dim=1)
        onehot = (torch.arange(t, device=x.device)[None, :] == eos_pos[:, None]).to(x.dtype)
        pooled = self.text_projection((onehot[:, :, None] * x).sum(1))
        return x, pooled


# ----------------------------------------------------------------------------- image encoders

def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.SiLU())


class ConvTrunk(nn.Module):
    """64x64 -> [B, c4, 4, 4]."""

    def __init__(self, c=(32, 64, 96, 128)):
        super().__init__()
        self.net = nn.Sequential(
            conv_bn(3, c[0], 2),          # 32
            conv_bn(c[0], c[0]),
            conv_bn(c[0], c[1], 2),       # 16
            conv_bn(c[1], c[1]),
            conv_bn(c[1], c[2], 2),       # 8
            conv_bn(c[2], c[2]),
            conv_bn(c[2], c[3], 2),       # 4
        )
        self.out_dim = c[3] * 16

    def forward(self, x):
        return self.net(x)


class ClipImage(nn.Module):
    """Small CNN image tower. Input: pixel_values [B,3,64,64] normalised with CLIP mean/std.
    Output: image embedding [B,embed] (not L2-normalised; normalise for cosine similarity)."""

    def __init__(self, embed=128, hidden=192):
        super().__init__()
        self.trunk = ConvTrunk((24, 48, 64, 96))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(self.trunk.out_dim, hidden), nn.SiLU(),
                                  nn.Linear(hidden, embed))

    def forward(self, pixel_values):
        return self.head(self.trunk(pixel_values))


class MiniClip(nn.Module):
    def __init__(self, remap_table, n_local, embed=128):
        super().__init__()
        self.text = ClipText(remap_table, n_local, embed=embed)
        self.image = ClipImage(embed=embed)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        # Auxiliary style probe on the image embedding (see MODEL_CARD: captions never name the
        # background, so without it the embedding would drop the style).
        self.style_head = nn.Linear(embed, len(data.PATTERNS) + len(data.TINTS))


# ----------------------------------------------------------------------------- mini-T5

class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def relative_bucket(rel: torch.Tensor, num_buckets=32, max_distance=64) -> torch.Tensor:
    """T5's bidirectional relative-position buckets."""
    num_buckets //= 2
    ret = (rel > 0).to(torch.long) * num_buckets
    n = rel.abs()
    max_exact = num_buckets // 2
    is_small = n < max_exact
    large = max_exact + (torch.log(n.float().clamp(min=1) / max_exact)
                         / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    large = torch.clamp(large, max=num_buckets - 1)
    return ret + torch.where(is_small, n, large)


class T5Block(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.ln1 = RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.ln2 = RMSNorm(d)
        self.wi0 = nn.Linear(d, d_ff, bias=False)
        self.wi1 = nn.Linear(d, d_ff, bias=False)
        self.wo = nn.Linear(d_ff, d, bias=False)
        self.drop = nn.Dropout(0.05)

    def forward(self, x, bias):
        b, t, d = x.shape
        h = self.ln1(x)
        sh = lambda z: z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = sh(self.q(h)), sh(self.k(h)), sh(self.v(h))
        att = (q @ k.transpose(-1, -2) + bias).softmax(-1)   # T5: no 1/sqrt(d) scaling
        x = x + self.drop(self.o((att @ v).transpose(1, 2).reshape(b, t, d)))
        h = self.ln2(x)
        h = F.gelu(self.wi0(h), approximate="tanh") * self.wi1(h)  # T5 v1.1 gated-GELU
        return x + self.drop(self.wo(h))


class MiniT5Encoder(nn.Module):
    """T5 v1.1-style encoder: RMSNorm pre-norm, relative position bias (shared, from layer 0),
    gated-GELU FFN, no biases. Output: final-RMSNorm token states [B,L,d_model]."""

    def __init__(self, vocab, d=128, layers=3, heads=4, d_ff=320, buckets=32, max_distance=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        nn.init.normal_(self.embed.weight, std=1.0)
        self.rel_bias = nn.Embedding(buckets, heads)
        self.blocks = nn.ModuleList([T5Block(d, heads, d_ff) for _ in range(layers)])
        self.final_norm = RMSNorm(d)
        self.buckets, self.max_distance = buckets, max_distance
        self.d = d
        # Learned attention scale per head is not T5; T5 folds the scale into init:
        for blk in self.blocks:
            nn.init.normal_(blk.q.weight, std=(d * (d // heads)) ** -0.5)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        x = self.embed(input_ids)
        pos = torch.arange(t, device=input_ids.device)
        rel = pos[None, :] - pos[:, None]
        bias = self.rel_bias(relative_bucket(rel, self.buckets, self.max_distance))  # [t,t,h]
        bias = bias.permute(2, 0, 1)[None]
        bias = bias + (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * NEG
        for blk in self.blocks:
            x = blk(x, bias)
        return self.final_norm(x)


class MiniT5MLM(nn.Module):
    def __init__(self, vocab, **kw):
        super().__init__()
        self.encoder = MiniT5Encoder(vocab, **kw)

    def forward(self, input_ids, attention_mask):
        h = self.encoder(input_ids, attention_mask)
        return (h * self.encoder.d ** -0.5) @ self.encoder.embed.weight.t()  # tied LM head


# ----------------------------------------------------------------------------- judge

class Judge(nn.Module):
    """Multi-head CNN. Input: images [B,3,64,64], RGB in [0,1]. Outputs logits:
    occupied [B,9] (sigmoid), shape [B,9,5], colour [B,9,7], size [B,9,2], pattern [B,5], tint [B,4].
    Cells are row-major over the 3x3 grid."""

    def __init__(self, c=(32, 64, 96, 128), hidden=256):
        super().__init__()
        self.trunk = ConvTrunk(c)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(self.trunk.out_dim, hidden), nn.SiLU())
        self.n_s, self.n_c, self.n_z = len(data.SHAPES), len(data.COLOURS), len(data.SIZES)
        per_cell = 1 + self.n_s + self.n_c + self.n_z
        self.cells = nn.Linear(hidden, 9 * per_cell)
        self.style = nn.Linear(hidden, len(data.PATTERNS) + len(data.TINTS))

    def forward(self, images):
        x = (images - 0.5) / 0.25
        h = self.fc(self.trunk(x))
        c = self.cells(h).reshape(-1, 9, 1 + self.n_s + self.n_c + self.n_z)
        occ = c[:, :, 0]
        shp = c[:, :, 1:1 + self.n_s]
        col = c[:, :, 1 + self.n_s:1 + self.n_s + self.n_c]
        siz = c[:, :, 1 + self.n_s + self.n_c:]
        st = self.style(h)
        return occ, shp, col, siz, st[:, :len(data.PATTERNS)], st[:, len(data.PATTERNS):]
