"""PyTorch weights of a shipped base denoiser, read back from its ONNX file.

The checkpoints of [mini-2] were git-ignored and are gone; the shipped ONNX graphs hold the same
weights (EMA), partly renamed (MatMul weights transposed, GroupNorm scales reshaped, the
coordinate-feature projections constant-folded into per-level tensors). This exports a model of
the same architecture with distinct random weights through the same exporter, locates every
parameter in that graph by value, reads the same places of the shipped graph and inverts the
transform (the folded projections by least squares on the known coordinate features). The
result is checked against ONNX Runtime on random inputs.

    python -m mini2.recover ONNX OUT.pt [--kind sr]   # writes {"model", "ema"} as a phase parent
"""
from __future__ import annotations

import argparse
import os
import tempfile
from typing import Dict, Tuple

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from mini.train import log
from .build import MODELS
from .export import check_model, export_model
from .train import make_model
from .unet import coord_features


def _slots(path: str) -> Tuple[Dict[Tuple[str, int], np.ndarray], Dict[str, np.ndarray]]:
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    slots = {}
    for node in m.graph.node:
        for k, name in enumerate(node.input):
            if name in inits:
                slots[(node.name, k)] = inits[name]
            for a in node.attribute:       # Constant nodes
                pass
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    slots[(node.name, -1)] = numpy_helper.to_array(a.t)
    return slots, inits


def recover(onnx_path: str, kind: str = "base", cfg: Dict = None) -> torch.nn.Module:
    cfg = cfg or {"base": MODELS["base"], "sr": MODELS["sr"]}
    probe = make_model(kind, cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    with tempfile.TemporaryDirectory() as tmp:
        ppath = os.path.join(tmp, "probe.onnx")
        export_model(probe, kind, ppath)
        pslots, _ = _slots(ppath)
    sslots, _ = _slots(onnx_path)
    target = make_model(kind, cfg)
    state = {}
    params = dict(probe.named_parameters())
    found = set()
    for name, p in params.items():
        v = p.detach().numpy()
        cands = [(v.reshape(-1), lambda a, s=v.shape: a.reshape(s))]
        if v.ndim == 2:
            cands.append((v.T.reshape(-1), lambda a, s=v.shape: a.reshape(s[::-1]).T))
        for key, arr in pslots.items():
            if arr.size != v.size or arr.dtype != np.float32:
                continue
            for flat, inv in cands:
                if np.array_equal(arr.reshape(-1), flat):
                    state[name] = torch.from_numpy(np.ascontiguousarray(inv(sslots[key]))).float()
                    found.add(name)
                    break
            if name in found:
                break
    # coordinate-feature projections: folded into conv(grid) constants
    net = probe.net
    pe = (("net.pe_down", net.pe_down), ("net.pe_up", net.pe_up)) if net.pos_emb else ()
    for prefix, mods in pe:
        for j, conv in enumerate(mods):
            c_out = conv.weight.shape[0]
            for r in (32, 16, 8):
                grid = coord_features(r)
                if grid.shape[-1] != r:
                    continue
                with torch.no_grad():
                    val = conv(grid).numpy()
                hits = [k for k, a in pslots.items() if a.shape == val.shape and np.allclose(a, val, atol=1e-5)]
                if hits:
                    a = sslots[hits[0]].reshape(c_out, r * r).T                # [N, C]
                    X = np.concatenate([grid.reshape(-1, r * r).T.numpy(), np.ones((r * r, 1), np.float32)], 1)
                    sol, *_ = np.linalg.lstsq(X.astype(np.float64), a.astype(np.float64), rcond=None)
                    state[f"{prefix}.{j}.weight"] = torch.from_numpy(sol[:-1].T.reshape(conv.weight.shape)).float()
                    state[f"{prefix}.{j}.bias"] = torch.from_numpy(sol[-1]).float()
                    found.update({f"{prefix}.{j}.weight", f"{prefix}.{j}.bias"})
                    break
    missing = [n for n in params if n not in found]
    if missing:
        raise RuntimeError(f"{onnx_path}: parameters not located in the graph: {missing}")
    target.load_state_dict(state)
    return target.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("onnx")
    ap.add_argument("out")
    ap.add_argument("--kind", default="base", choices=["base", "sr"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    save_recovered(args.onnx, args.kind, args.out, {"step": 0})


def save_recovered(onnx_path: str, kind: str, out: str, state: Dict, phase: Dict = None) -> Dict:
    """Recovers, checks against ONNX Runtime and writes a checkpoint a phase can branch from."""
    model = recover(onnx_path, kind)
    chk = check_model(model, kind, onnx_path)
    log(f"recovered {onnx_path}: ONNX Runtime vs recovered PyTorch {chk}")
    if chk["max_abs_diff"] > 1e-4:
        raise RuntimeError(f"{onnx_path}: recovered weights do not reproduce the graph ({chk['max_abs_diff']})")
    sd = model.state_dict()
    state = dict(state, elapsed=0.0, loss=[], recovered_from=onnx_path, check=chk)
    torch.save({"model": sd, "ema": sd, "state": state, "phase": phase or {"kind": kind}}, out + ".tmp")
    os.replace(out + ".tmp", out)
    return chk


if __name__ == "__main__":
    main()
