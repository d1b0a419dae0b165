"""A small PyTorch sampler (Karras schedule, Heun / DPM-Solver++(2M), classifier-free guidance,
experts routed by sigma) for checking the denoisers from Python; the SDK has its own."""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch


def karras(n: int, smin=0.002, smax=80.0, rho=7.0) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64)
    s = (smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    return torch.cat([s, torch.zeros(1, dtype=torch.float64)])


def routed(experts: Sequence[Tuple[float, float, torch.nn.Module]]):
    """experts: (lo, hi, model) half-open intervals."""
    def pick(sigma: float):
        for lo, hi, m in experts:
            if lo <= sigma < hi:
                return m
        return experts[-1][2]
    return pick


def zeros_like_cond(cond: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out = {}
    for k, v in cond.items():
        out[k] = v if k in ("low_res", "augmentation_sigma", "attention_bias") else torch.zeros_like(v)
    return out


@torch.no_grad()
def sample(pick: Callable, cond: Dict[str, torch.Tensor], shape, steps=20, guidance=3.0, seed=0,
           method="dpmpp_2m", smin=0.002, smax=80.0) -> torch.Tensor:
    """cond: batched conditioning; the unconditional branch zeroes text and image embedding."""
    g = torch.Generator().manual_seed(seed)
    sig = karras(steps, smin, smax)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * sig[0]
    B = shape[0]
    uncond = zeros_like_cond(cond)
    both = {k: torch.cat([uncond[k], cond[k]]) for k in cond}

    def D(x, s):
        m = pick(float(s))
        sv = torch.full((B,), float(s), dtype=torch.float32)
        if guidance == 1.0:
            return m(x.float(), sv, cond).double()
        out = m(torch.cat([x, x]).float(), torch.cat([sv, sv]), both).double()
        du, dc = out[:B], out[B:]
        return du + guidance * (dc - du)

    old = None
    for i in range(steps):
        s, sn = sig[i], sig[i + 1]
        d = D(x, s)
        if method == "heun":
            dx = (x - d) / s
            x_new = x + (sn - s) * dx
            if sn > 0:
                d2 = D(x_new, sn)
                x_new = x + (sn - s) * 0.5 * (dx + (x_new - d2) / sn)
            x = x_new
        else:  # DPM-Solver++(2M)
            if sn == 0:
                x = d
                break
            t, tn = -torch.log(s), -torch.log(sn)
            h = tn - t
            if old is None or i == 0:
                dd = d
            else:
                h_last = t - (-torch.log(sig[i - 1]))
                r = h_last / h
                dd = (1 + 1 / (2 * r)) * d - (1 / (2 * r)) * old
            x = (sn / s) * x - torch.expm1(-h) * dd
            old = d
    return x.float()


def to_u8(x: torch.Tensor) -> np.ndarray:
    """[B,3,H,W] in [-1,1] -> uint8 [B,H,W,3] (the SDK's mapping: round((v+1)*127.5))."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
