"""The Python + ONNX Runtime baseline of issue #14: a plain loop over the default bundle's ONNX files
with the SDK's sampler math (base stage: Karras schedule, DPM-Solver++(2M), 20 steps, classifier-free
guidance 3 with uncond and cond batched in one call, experts routed by sigma; SR stage: Heun, 12 steps,
guidance 1, the low-res image upsampled and noise-augmented). It is what a user would write by hand,
so the SDK should be at least as fast and as lean.

Usage: python ort_loop.py [--bundle DIR] [--threads N] [--batches 1,4,16] [--runs N] [--json]
Prints the load time (split by component), the median end-to-end time per batch size and the
peak resident memory (VmHWM) at the end; --json prints one JSON object instead.
"""
from __future__ import annotations

import argparse
import json
import os
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

IMPORT_S = time.perf_counter() - T0
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BUNDLE = os.path.join(HERE, "..", "..", "ediff-model-mini", "src", "main", "resources", "dev", "ediff",
                              "models", "default")


def karras(n, smin=0.002, smax=80.0, rho=7.0):
    i = np.arange(n, dtype=np.float64)
    s = (smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    return np.concatenate([s, [0.0]])


class Pipeline:
    # load-split labels (a subclass that runs the experts elsewhere says so in them)
    ENCODER_LABEL = " encoder"
    EXPERTS_LABEL = " experts"

    def __init__(self, bundle: str, threads: int):
        self.times = {}
        self.bundle = bundle
        t = time.perf_counter()
        with open(os.path.join(bundle, "manifest.json")) as f:
            self.man = json.load(f)
        so = ort.SessionOptions()
        if threads > 0:
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
        self.so = so
        self.times["manifest"] = time.perf_counter() - t
        self.enc = {}
        for e in self.man["text_encoders"]:
            t = time.perf_counter()
            tok = Tokenizer.from_file(os.path.join(bundle, e["tokenizer"]))
            self.times[e["role"] + " tokenizer"] = time.perf_counter() - t
            t = time.perf_counter()
            self.enc[e["role"]] = (tok, self.session(e["model"]), e)
            self.times[e["role"] + self.ENCODER_LABEL] = time.perf_counter() - t
        self.stages = []
        for st in self.man["stages"]:
            t = time.perf_counter()
            experts = [(x.get("sigma_lo", 0.0), x.get("sigma_hi", float("inf")), self.expert(st, x))
                       for x in st["experts"]]
            self.times[st["name"] + self.EXPERTS_LABEL] = time.perf_counter() - t
            self.stages.append((st, experts))

    def session(self, rel: str):
        return ort.InferenceSession(os.path.join(self.bundle, rel), self.so, providers=["CPUExecutionProvider"])

    def expert(self, stage, x):
        """What runs one expert of a stage: anything with ONNX Runtime's run(None, feeds)."""
        return self.session(x["model"])

    def encode(self, prompt: str):
        feeds = {}
        for role, (tok, sess, e) in self.enc.items():
            n = e["max_tokens"]
            ids = tok.encode(prompt).ids[:n]
            mask = [1] * len(ids) + [0] * (n - len(ids))
            ids = ids + [e.get("pad_id", 0)] * (n - len(ids))
            out = sess.run(None, {"input_ids": np.array([ids], np.int64), "attention_mask": np.array([mask], np.int64)})
            feeds[role + "_tokens"] = out[0].astype(np.float32)
            feeds[role + "_mask"] = np.array([mask], np.float32)
            if len(out) > 1:
                feeds[role + "_pooled"] = out[1].astype(np.float32)
        return feeds

    def generate(self, prompt: str, count: int, seed: int):
        text = self.encode(prompt)
        rng = np.random.default_rng(seed)
        prev = None
        for k, (st, experts) in enumerate(self.stages):
            d = st["defaults"]
            steps, guidance, method = d["steps"], d["guidance"], d["sampler"]
            h, w = st["resolution"]
            shape = (count, st["channels"], h, w)
            cond = {}
            for role in st["inputs"]:
                if role in ("x", "sigma"):
                    continue
                if role in text:
                    cond[role] = np.repeat(text[role], count, axis=0)
                elif role == "image_embedding":
                    cond[role] = np.zeros((count, 128), np.float32)
                elif role == "attention_bias":
                    cond[role] = np.zeros((count, h * w, 64), np.float32)
                elif role == "low_res":
                    up = prev.repeat(2, axis=2).repeat(2, axis=3)  # nearest 2x (the SDK uses bicubic: same cost class)
                    a = d["augmentation_sigma"]
                    cond[role] = (up + a * rng.standard_normal(up.shape)).astype(np.float32)
                elif role == "augmentation_sigma":
                    cond[role] = np.full((count,), d["augmentation_sigma"], np.float32)
            guided = guidance != 1.0
            if guided:
                both = {}
                for r, v in cond.items():
                    keep = r in ("low_res", "augmentation_sigma", "attention_bias")
                    both[r] = np.concatenate([v if keep else np.zeros_like(v), v])
                feeds = both
            else:
                feeds = cond
            sig = karras(steps, st["sigma_min"], st["sigma_max"], st["rho"])
            x = rng.standard_normal(shape) * sig[0]

            def denoise(x, s):
                sess = experts[-1][2]
                for lo, hi, m in experts:
                    if lo <= s < hi:
                        sess = m
                        break
                if guided:
                    xin = np.concatenate([x, x]).astype(np.float32)
                    f = dict(feeds, x=xin, sigma=np.full((2 * count,), s, np.float32))
                    out = sess.run(["denoised"], f)[0].astype(np.float64)
                    du, dc = out[:count], out[count:]
                    return du + guidance * (dc - du)
                f = dict(feeds, x=x.astype(np.float32), sigma=np.full((count,), s, np.float32))
                return sess.run(["denoised"], f)[0].astype(np.float64)

            old = None
            for i in range(steps):
                s, sn = sig[i], sig[i + 1]
                den = denoise(x, s)
                if method == "heun":
                    dx = (x - den) / s
                    xn = x + (sn - s) * dx
                    if sn > 0:
                        d2 = denoise(xn, sn)
                        xn = x + (sn - s) * 0.5 * (dx + (xn - d2) / sn)
                    x = xn
                else:  # DPM-Solver++(2M)
                    if sn == 0:
                        x = den
                        break
                    t, tn = -np.log(s), -np.log(sn)
                    hh = tn - t
                    if old is None:
                        dd = den
                    else:
                        r = (t + np.log(sig[i - 1])) / hh
                        dd = (1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old
                    x = (sn / s) * x - np.expm1(-hh) * dd
                    old = den
            prev = x
        return np.clip((prev + 1) * 127.5, 0, 255).round().astype(np.uint8)


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def time_batches(p, prompt: str, batches: str, warmup: int, runs: int, res: dict) -> None:
    """Times p.generate per batch size ("1,4,16") after `warmup` generations (the same warm-up as
    the SDK's): the median wall time into res["batches"], the median process CPU time into
    res["cpu_s"]. Shared with torch_loop.py, so both baselines are timed the same way."""
    for b in [int(v) for v in batches.split(",") if v]:
        for w in range(warmup):
            p.generate(prompt, b, 1 + w)
        ts, cs = [], []
        for r in range(runs):
            t, c = time.perf_counter(), time.process_time()
            p.generate(prompt, b, 42 + r)
            ts.append(time.perf_counter() - t)
            cs.append(time.process_time() - c)
        res["batches"][str(b)] = sorted(ts)[len(ts) // 2]
        res.setdefault("cpu_s", {})[str(b)] = sorted(cs)[len(cs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", default=DEFAULT_BUNDLE)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,4,16")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--prompt", default="a small red circle above a large blue square")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    t = time.perf_counter()
    p = Pipeline(a.bundle, a.threads)
    load = time.perf_counter() - t
    loaded_at = time.time()
    cpu = time.process_time()
    res = {"impl": "python-ort", "ort": ort.__version__, "threads": a.threads, "import_s": IMPORT_S, "load_s": load,
           "loaded_at": loaded_at, "cpu_to_loaded_s": cpu,
           "load_split_s": p.times, "batches": {}}
    time_batches(p, a.prompt, a.batches, a.warmup, a.runs, res)
    res["peak_rss_mib"] = peak_rss_mib()
    if a.json:
        print(json.dumps(res))
    else:
        print(f"python + onnxruntime {ort.__version__}, {a.threads} thread(s): imports {IMPORT_S:.2f} s, load {load:.3f} s")
        for k, v in p.times.items():
            print(f"  {k:18s} {v * 1000:8.1f} ms")
        for b, v in res["batches"].items():
            print(f"  batch {b:>3s}: {v:.3f} s (median of {a.runs})")
        print(f"  peak RSS {res['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
