"""ONNX export of the denoisers (opset 17, dynamic batch) from the latest EMA checkpoints, the
ONNX Runtime vs PyTorch check, and the assembly of the SDK's default bundle.

Token axes are static (MAX_TOKENS per encoder, the manifest's max_tokens) because the
attention_bias input [B, 32*32, 2*MAX_TOKENS] must have static non-batch dimensions for the SDK
to fill it with zeros when no word is painted.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from typing import Dict, List, Optional

import numpy as np
import torch

from mini.train import log
from .train import load_phase, make_model, ckpt_path
from .unet import BASE_INPUTS, SR_INPUTS, ExportWrapper, n_params

OPSET = 17
MAX_TOKENS = 32
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(HERE))
BUNDLE = os.path.join(REPO, "ediff-model-mini", "src", "main", "resources", "dev", "ediff", "models", "default")
# The judge ships with the evaluation code, not with the model: same classpath folder, other module.
JUDGE = os.path.join(REPO, "ediff-eval", "src", "main", "resources", "dev", "ediff", "models", "default", "judge")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# which trained phase provides each exported model, best first (falls back to the parent when a
# child phase has not started yet)
SOURCES = {
    "base/high": ["e1_high", "pretrain2"],
    "base/mid": ["e2_mid", "e1_low", "pretrain2"],
    "base/low": ["e2_low", "e1_low", "pretrain2"],
    "baseline/base": ["baseline", "pretrain2"],
    "sr/sr": ["sr_one", "sr"],
    "sr/high": ["sr_high"],
    "sr/low": ["sr_low"],
}


def random_feeds(kind: str, b: int, seed: int, res: int, zero_bias: bool = False) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    L = MAX_TOKENS
    sigma = np.exp(rng.uniform(np.log(0.002), np.log(80), size=b)).astype(np.float32)
    f = {"x": (rng.standard_normal((b, 3, res, res)) * (0.5 + sigma[:, None, None, None])).astype(np.float32),
         "sigma": sigma}
    t5m = np.zeros((b, L), np.float32)
    cm = np.zeros((b, L), np.float32)
    for i in range(b):
        t5m[i, :rng.integers(0, L + 1)] = 1
        cm[i, :rng.integers(0, L + 1)] = 1
    f["t5_tokens"] = rng.standard_normal((b, L, 128)).astype(np.float32)
    f["t5_mask"] = t5m
    f["clip_tokens"] = rng.standard_normal((b, L, 128)).astype(np.float32)
    f["clip_mask"] = cm
    f["clip_pooled"] = rng.standard_normal((b, 128)).astype(np.float32)
    if kind == "base":
        f["image_embedding"] = rng.standard_normal((b, 128)).astype(np.float32)
        bias = np.zeros((b, 32 * 32, 2 * L), np.float32)
        if not zero_bias:
            bias = (rng.random((b, 32 * 32, 2 * L)) < 0.2).astype(np.float32) * 0.5
        f["attention_bias"] = bias
    else:
        f["low_res"] = rng.standard_normal((b, 3, res, res)).astype(np.float32)
        f["augmentation_sigma"] = rng.uniform(0, 0.5, size=b).astype(np.float32)
    return f


def export_model(model, kind: str, path: str) -> None:
    names = BASE_INPUTS if kind == "base" else SR_INPUTS
    res = 32 if kind == "base" else 64
    wrapper = ExportWrapper(model.eval(), names).eval()
    feeds = random_feeds(kind, 2, 0, res)
    args = tuple(torch.from_numpy(feeds[n]) for n in names)
    dyn = {n: {0: "batch"} for n in names}
    dyn["denoised"] = {0: "batch"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, args, path, input_names=names, output_names=["denoised"],
                          dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True, dynamo=False)
    import onnx
    onnx.checker.check_model(onnx.load(path))


def check_model(model, kind: str, path: str) -> Dict:
    """Max abs difference ORT vs PyTorch on random inputs (batch 3 and 1), and whether a zero
    bias gives bit-identical ONNX outputs to a run of the graph without... (see zero_bias_*)."""
    import onnxruntime as ort
    names = BASE_INPUTS if kind == "base" else SR_INPUTS
    res = 32 if kind == "base" else 64
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    wrapper = ExportWrapper(model.eval(), names).eval()
    worst = 0.0
    for seed, b in ((1, 3), (2, 1), (3, 4)):
        f = random_feeds(kind, b, seed, res)
        got = sess.run(None, f)[0]
        with torch.no_grad():
            ref = wrapper(*[torch.from_numpy(f[n]) for n in names]).numpy()
        worst = max(worst, float(np.abs(got - ref).max()))
    out = {"max_abs_diff": worst}
    if kind == "base":
        # zero bias == no paint-with-words path at all (PyTorch, bit for bit)
        f = random_feeds(kind, 3, 5, res, zero_bias=True)
        t = {n: torch.from_numpy(f[n]) for n in names}
        with torch.no_grad():
            a = model(t["x"], t["sigma"], {k: v for k, v in t.items() if k not in ("x", "sigma")})
            nob = {k: v for k, v in t.items() if k not in ("x", "sigma", "attention_bias")}
            c = model(t["x"], t["sigma"], nob)
        out["zero_bias_bit_identical_torch"] = bool(torch.equal(a, c))
        got0 = sess.run(None, f)[0]
        out["zero_bias_onnx_vs_torch_no_bias"] = float(np.abs(got0 - c.numpy()).max())
        f2 = random_feeds(kind, 3, 5, res, zero_bias=False)
        out["painted_bias_changes_output"] = float(np.abs(sess.run(None, f2)[0] - got0).max())
    return out


def load_ema(cfg: Dict, work: str, key: str, sources: Dict = None):
    for phase in (sources or SOURCES)[key]:
        if os.path.exists(ckpt_path(work, phase)):
            ck = load_phase(work, phase)
            kind = ck["phase"]["kind"]
            m = make_model(kind, cfg, ck["phase"])
            m.load_state_dict(ck["ema"])
            return m.eval(), kind, {"phase": phase, "step": ck["state"]["step"],
                                    "elapsed_s": round(ck["state"]["elapsed"]),
                                    "parent_step": ck["state"].get("parent_step")}
    return None, None, None


def export_all(cfg: Dict, work: str, export_dir: str, sources: Dict = None) -> Dict:
    report = {}
    for key in (sources or SOURCES):
        m, kind, info = load_ema(cfg, work, key, sources)
        if m is None:
            log(f"export: nothing trained for {key} yet")
            continue
        path = os.path.join(export_dir, key + ".onnx")
        export_model(m, kind, path)
        chk = check_model(m, kind, path)
        info.update(chk)
        info["params"] = n_params(m)
        info["bytes"] = os.path.getsize(path)
        report[key] = info
        log(f"export: {key} <- {info}")
    with open(os.path.join(export_dir, "denoisers.json"), "w") as f:
        json.dump(report, f, indent=1)
    return report


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(cfg: Dict, experts: List[Dict], sr_experts: List[Dict], name="mini-ediff") -> Dict:
    s1, s2 = cfg["splits"]
    return {
        "format_version": 1,
        "name": name,
        "description": ("Miniature eDiff-I trained on procedural shapes (tools/mini, issues [mini-1], [mini-2], [mini-3]): "
                        "mini-T5 + mini-CLIP text, mini-CLIP image embedding for style, three base experts at "
                        "32x32 (binary-tree fine-tuned), a 32->64 super-resolution stage."),
        "text_encoders": [
            {"role": "t5", "model": "t5/encoder.onnx", "tokenizer": "t5/tokenizer.json", "max_tokens": MAX_TOKENS,
             "pad_id": 0, "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask"},
             "outputs": {"tokens": "last_hidden_state"}, "dim": 128, "off": "zeros"},
            {"role": "clip", "model": "clip/text_encoder.onnx", "tokenizer": "clip/tokenizer.json",
             "max_tokens": MAX_TOKENS, "pad_id": 49407,
             "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask"},
             "outputs": {"tokens": "last_hidden_state", "pooled": "text_embeds"}, "dim": 128, "off": "zeros"},
        ],
        "image_encoder": {"model": "clip/image_encoder.onnx", "input": "pixel_values", "output": "image_embeds",
                          "size": 64, "mean": CLIP_MEAN, "std": CLIP_STD, "dim": 128},
        "stages": [
            {"name": "base", "resolution": [32, 32], "channels": 3, "parameterization": "x0",
             "sigma_min": 0.002, "sigma_max": 80, "rho": 7,
             "inputs": {r: r for r in BASE_INPUTS},
             "output": "denoised",
             "experts": experts,
             "defaults": {"sampler": "dpmpp_2m", "steps": 20, "guidance": cfg["guidance"]}},
            {"name": "sr64", "resolution": [64, 64], "channels": 3, "parameterization": "x0",
             "sigma_min": 0.002, "sigma_max": 80, "rho": 7,
             "inputs": {r: r for r in SR_INPUTS},
             "output": "denoised",
             "experts": sr_experts,
             "defaults": {"sampler": "heun", "steps": 12, "guidance": 1.0,
                          "augmentation_sigma": cfg["augmentation_sigma"]}},
        ],
    }


def assemble(cfg: Dict, export_dir: str, den_dir: str, bundle: str = BUNDLE, baseline: bool = False,
             sr: str = "one") -> Dict:
    """Copies encoders, tokenizers and the judge ([mini-1], export_dir) and the denoisers (den_dir)
    into `bundle` and writes manifest.json.
    baseline=True: one base expert (the single-model baseline) instead of the three experts.
    sr: "one" (one SR model) or "experts" (two SR experts split at cfg["sr_split"])."""
    s1, s2 = cfg["splits"]
    if os.path.isdir(bundle):
        shutil.rmtree(bundle)
    os.makedirs(bundle)
    files = ["t5/encoder.onnx", "t5/tokenizer.json", "clip/text_encoder.onnx", "clip/tokenizer.json",
             "clip/image_encoder.onnx", "judge/judge.onnx", "judge/labels.json"]
    if baseline:
        experts = [{"name": "baseline", "model": "base/baseline.onnx", "sigma_lo": 0.0}]
        copies = {"base/baseline.onnx": "baseline/base.onnx"}
    else:
        experts = [{"name": "low", "model": "base/low.onnx", "sigma_lo": 0.0, "sigma_hi": s1},
                   {"name": "mid", "model": "base/mid.onnx", "sigma_lo": s1, "sigma_hi": s2},
                   {"name": "high", "model": "base/high.onnx", "sigma_lo": s2}]
        copies = {f"base/{n}.onnx": f"base/{n}.onnx" for n in ("low", "mid", "high")}
    if sr == "experts":
        sr_experts = [{"name": "sr_low", "model": "sr/low.onnx", "sigma_lo": 0.0, "sigma_hi": cfg["sr_split"]},
                      {"name": "sr_high", "model": "sr/high.onnx", "sigma_lo": cfg["sr_split"]}]
        copies.update({"sr/low.onnx": "sr/low.onnx", "sr/high.onnx": "sr/high.onnx"})
    else:
        sr_experts = [{"name": "sr", "model": "sr/sr.onnx", "sigma_lo": 0.0}]
        copies["sr/sr.onnx"] = "sr/sr.onnx"
    srcs = {dst: os.path.join(den_dir, src) for dst, src in copies.items()}
    srcs.update({f: os.path.join(export_dir, f) for f in files})
    for dst, src in srcs.items():
        target = os.path.join(bundle, dst)
        if bundle == BUNDLE and dst.startswith("judge/"):
            target = os.path.join(JUDGE, dst[len("judge/"):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(src, target)
    man = manifest(cfg, experts, sr_experts, name="mini-ediff-baseline" if baseline else "mini-ediff")
    if cfg.get("layout"):   # experts trained on per-phrase input (mini2.phrases): the SDK's layout step
        from .phrases import layout_block
        man["layout"] = layout_block()
    # Per-file SHA-256 digests (BUNDLE_FORMAT.md, "Integrity"): the SDK refuses a damaged file when it opens.
    # The default bundle ships without the judge (it lives with the evaluation code), so no digest for it.
    shipped = [d for d in sorted(srcs) if not (bundle == BUNDLE and d.startswith("judge/"))]
    man["sha256"] = {dst: sha256_file(os.path.join(bundle, dst)) for dst in shipped}
    with open(os.path.join(bundle, "manifest.json"), "w") as f:
        json.dump(man, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(bundle) for fn in fns)
    log(f"bundle: {bundle} {total / 1e6:.1f} MB")
    return {"bundle": bundle, "bytes": total}
