"""The PyTorch eager baseline of issue #14: ort_loop.py's loop (same prompt, seeds, initial noise,
sampler math: base DPM-Solver++(2M) Karras 20 steps, guidance 3 with uncond and cond batched in one
call, experts routed by sigma; SR Heun 12 steps, guidance 1) with the denoisers run as PyTorch eager
modules (tools/mini/mini2/unet.py) instead of ONNX Runtime sessions.

No PyTorch checkpoint of the shipped experts is kept, so their weights are read back from the
bundle's ONNX files with tools/mini/mini2/recover.py (the same `recover` that `save_recovered` /
build.py --recover use) at start-up, or from --cache DIR (one state dict per ONNX file, keyed by the
file's SHA-256; written on the first run). The text encoders stay on ONNX Runtime (they run once per
generation; the U-Net is what is compared). After timing (so that the peak resident memory is the
loop's own), one denoiser call per expert is compared with an ONNX Runtime session of the same file
on the same inputs (batch 2, with and without a painted attention bias; max abs diff, must be
<= 1e-4, else the script exits with an error; --no-check skips it).

Usage: python torch_loop.py [--bundle DIR] [--threads N] [--batches 1,4,16] [--runs N] [--json]
                            [--cache DIR]
Needs torch, onnx, onnxruntime, numpy and tokenizers (tools/mini/.venv has them).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "mini"))
import ort_loop  # noqa: E402  (the same karras(), tokenizers/encoders, peak_rss_mib())
from mini2.recover import recover  # noqa: E402
from mini2.train import make_model  # noqa: E402
from mini2.build import MODELS  # noqa: E402
from mini2.unet import BASE_INPUTS, SR_INPUTS, ExportWrapper  # noqa: E402
from mini2.export import random_feeds  # noqa: E402

IMPORT_S = time.perf_counter() - T0
karras = ort_loop.karras


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_module(path: str, kind: str, cache: str | None):
    """The recovered PyTorch denoiser of one ONNX file (from the cache when it has it)."""
    if cache:
        cpath = os.path.join(cache, f"{os.path.basename(path)[:-5]}-{sha256(path)[:16]}.pt")
        if os.path.exists(cpath):
            m = make_model(kind, {"base": MODELS["base"], "sr": MODELS["sr"]})
            m.load_state_dict(torch.load(cpath, map_location="cpu", weights_only=True))
            return m.eval(), "cache"
    m = recover(path, kind)
    if cache:
        os.makedirs(cache, exist_ok=True)
        torch.save(m.state_dict(), cpath + ".tmp")
        os.replace(cpath + ".tmp", cpath)
    return m.eval(), "recovered"


class TorchExpert:
    """Called like ort's session.run(["denoised"], feeds): numpy in, numpy out, PyTorch eager inside."""

    def __init__(self, module, names):
        self.mod = ExportWrapper(module, names).eval()
        self.names = names

    def run(self, _out, feeds):
        with torch.inference_mode():
            y = self.mod(*[torch.from_numpy(np.ascontiguousarray(feeds[n])) for n in self.names])
        return [y.numpy()]


class Pipeline(ort_loop.Pipeline):
    """ort_loop's Pipeline (encoders, tokenizers, generate()) with the expert sessions replaced."""

    ENCODER_LABEL = " encoder (ORT)"
    EXPERTS_LABEL = " experts (torch)"

    def __init__(self, bundle: str, threads: int, cache: str | None):
        self.cache = cache
        self.files, self.sources = [], {}
        super().__init__(bundle, threads)

    def expert(self, stage, x):
        kind = "sr" if "low_res" in stage["inputs"] else "base"
        path = os.path.join(self.bundle, x["model"])
        mod, src = load_module(path, kind, self.cache)
        self.sources[x["model"]] = src
        self.files.append((path, kind, mod))
        return TorchExpert(mod, SR_INPUTS if kind == "sr" else BASE_INPUTS)

    def check(self):
        """Max abs diff PyTorch eager vs ONNX Runtime, one call per expert (batch 2, seed 7 inputs)."""
        out = {}
        for path, kind, mod in self.files:
            names = SR_INPUTS if kind == "sr" else BASE_INPUTS
            sess = ort.InferenceSession(path, self.so, providers=["CPUExecutionProvider"])
            worst = 0.0
            for zero_bias in (True, False):
                f = random_feeds(kind, 2, 7, 64 if kind == "sr" else 32, zero_bias=zero_bias)
                a = sess.run(["denoised"], f)[0]
                b = TorchExpert(mod, names).run(None, f)[0]
                worst = max(worst, float(np.abs(a - b).max()))
            out[os.path.relpath(path, os.path.dirname(os.path.dirname(path)))] = worst
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default=ort_loop.DEFAULT_BUNDLE)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--prompt", default="a small red circle above a large blue square")
    ap.add_argument("--cache", default=None, help="folder for the recovered state dicts (read, else written)")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
        torch.set_num_interop_threads(1)
    t = time.perf_counter()
    p = Pipeline(a.bundle, a.threads, a.cache)
    load = time.perf_counter() - t
    cpu = time.process_time()
    res = {"impl": "pytorch-eager", "torch": torch.__version__, "ort_text_encoders": ort.__version__,
           "threads": a.threads, "torch_threads": torch.get_num_threads(), "import_s": IMPORT_S, "load_s": load,
           "cpu_to_loaded_s": cpu, "weights": p.sources, "load_split_s": p.times, "batches": {}}
    ort_loop.time_batches(p, a.prompt, a.batches, a.warmup, a.runs, res)
    res["peak_rss_mib"] = ort_loop.peak_rss_mib()  # before the check: its ORT sessions are not the loop's
    if not a.no_check:
        res["max_abs_diff_vs_ort"] = p.check()
        bad = {k: v for k, v in res["max_abs_diff_vs_ort"].items() if not v <= 1e-4}
        if bad:
            raise SystemExit(f"PyTorch eager does not reproduce the ONNX graphs: {bad}")
    if a.json:
        print(json.dumps(res))
    else:
        print(f"pytorch {torch.__version__} eager denoisers (text encoders on onnxruntime {ort.__version__}), "
              f"{a.threads} thread(s): imports {IMPORT_S:.2f} s, load {load:.3f} s (weights: {p.sources})")
        for k, v in p.times.items():
            print(f"  {k:26s} {v * 1000:8.1f} ms")
        for k, v in res.get("max_abs_diff_vs_ort", {}).items():
            print(f"  max abs diff vs ORT, {k}: {v:.2e}")
        for b, v in res["batches"].items():
            print(f"  batch {b:>3s}: {v:.3f} s (median of {a.runs})")
        print(f"  peak RSS {res['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
