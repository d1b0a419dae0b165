"""Engine comparison for issue #14: the bare session.run of one ONNX file, Python against Java.

The Python side (this file, --side python) times onnxruntime's InferenceSession.run; the Java side
is dev.ediff.testkit.bench.OrtRunBenchmark. Both fill every float input by the same formula
(sin(0.001 i + 0.1 k) for the k-th input, sigma = 1.5), keep the inputs across runs, run 1
intra-op thread by default and report the median wall time per run and the mean process CPU time
per run, the fastest run, plus the sum of the output (two engines computing the same thing agree on it).

With --compare (the default) it runs, each in a fresh process and interleaved round by round:
  java-a          the Java binding of --jar on its own native library (the SDK's default engine)
  python-<ver>    this Python's onnxruntime
  java-on-<ver>   the Java binding of --jar on this Python's libonnxruntime.so (a folder holding the
                  jar's JNI library and a link to the wheel's engine, given as onnxruntime.native.path)
and prints a Markdown table of medians over the rounds. --jar-b JAR adds a second Java variant
(java-b: e.g. an ediff.jar built with -Donnxruntime.version=1.29.0, on its own native library) to
every round; the "engine" column names the version each Java variant reports.

  python tools/bench/ort_run.py [--model base/mid.onnx] [--batches 2,8] [--rounds 3] [--runs 50]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUNDLE = os.path.join(ROOT, "ediff-model-mini", "src", "main", "resources", "dev", "ediff", "models", "default")


def python_side(model: str, batches: str, runs: int, warmup: int, threads: int) -> dict:
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    res = {"impl": "python", "ort": ort.__version__, "threads": threads, "batches": {}}
    out_name = sess.get_outputs()[0].name
    for b in [int(v) for v in batches.split(",")]:
        feeds = {}
        for k, i in enumerate(sess.get_inputs()):
            shape = [b] + list(i.shape[1:])
            n = int(np.prod(shape))
            if i.name == "sigma":
                v = np.full(n, 1.5, np.float32)
            else:
                v = np.sin(0.001 * np.arange(n) + 0.1 * k).astype(np.float32)
            feeds[i.name] = v.reshape(shape)
        total = 0.0
        for w in range(warmup):
            out = sess.run([out_name], feeds)[0]
            if w == 0:
                total = float(out.astype(np.float64).sum())
        wall = []
        c = time.process_time()
        for _ in range(runs):
            t = time.perf_counter()
            sess.run([out_name], feeds)
            wall.append((time.perf_counter() - t) * 1000)
        cpu = (time.process_time() - c) * 1000 / runs
        wall.sort()
        res["batches"][str(b)] = {"wall_ms": wall[runs // 2], "cpu_ms": cpu, "min_ms": wall[0], "sum": total}
    return res


def elf_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = (h << 4) + c
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g
    return h & 0xFFFFFFFF


def retarget_jni(src: str, dst: str, want: str) -> None:
    """Copies the JNI library, renaming the symbol version it needs from libonnxruntime.so.1
    (VERS_1.28.0) to `want` (e.g. VERS_1.30.0): glibc refuses to bind OrtGetApiBase@VERS_1.28.0 to a
    library that only defines VERS_1.30.0, although the C API behind it is versioned and backward
    compatible. Same-length names only (the string is overwritten in place, its ELF hash updated)."""
    import struct

    b = bytearray(open(src, "rb").read())
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shentsize) for i in range(shnum)]
    names = secs[shstrndx][4]

    def name(s):
        o = names + s[0]
        return bytes(b[o:b.index(0, o)]).decode()

    by = {name(s): s for s in secs}
    vr, dynstr = by[".gnu.version_r"], by[".dynstr"][4]
    off, done = vr[4], 0
    while True:
        _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", b, off)
        a = off + aux
        for _ in range(cnt):
            h, flags, other, nm, anext = struct.unpack_from("<IHHII", b, a)
            o = dynstr + nm
            old = bytes(b[o:b.index(0, o)])
            if old.startswith(b"VERS_") and old != want.encode():
                if len(old) != len(want):
                    sys.exit(f"cannot rename {old!r} to {want!r}: lengths differ")
                b[o:o + len(want)] = want.encode()
                struct.pack_into("<I", b, a, elf_hash(want.encode()))
                done += 1
            if not anext:
                break
            a += anext
        if not nxt:
            break
        off += nxt
    if not done:
        sys.exit(f"no VERS_ requirement found in {src}")
    open(dst, "wb").write(b)


def engine_folder(tmp: str, jar: str) -> str:
    """A folder with the JNI library of `jar` (its symbol version requirement renamed) and this
    Python's engine."""
    import zipfile

    import onnxruntime as ort

    capi = os.path.join(os.path.dirname(ort.__file__), "capi")
    engines = glob.glob(os.path.join(capi, "libonnxruntime.so.*"))
    if not engines:
        sys.exit(f"no libonnxruntime.so.* in {capi}")
    folder = os.path.join(tmp, "ort-" + ort.__version__)
    os.makedirs(folder, exist_ok=True)
    jni = os.path.join(tmp, "libonnxruntime4j_jni.so")
    with zipfile.ZipFile(jar) as z, open(jni, "wb") as f:
        f.write(z.read("ai/onnxruntime/native/linux-x64/libonnxruntime4j_jni.so"))
    retarget_jni(jni, os.path.join(folder, "libonnxruntime4j_jni.so"), "VERS_" + ort.__version__)
    os.symlink(engines[0], os.path.join(folder, "libonnxruntime.so"))
    return folder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=["compare", "python"], default="compare")
    ap.add_argument("--model", default="base/mid.onnx", help="a path, or one relative to the default bundle")
    ap.add_argument("--batches", default="2,8")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jar", default=os.path.join(ROOT, "ediff-cli", "target", "ediff.jar"))
    ap.add_argument("--jar-b", default=None, help="a second ediff.jar (another ONNX Runtime version) as variant java-b")
    ap.add_argument("--options", default="sdk", choices=["sdk", "plain"], help="Java session options")
    a = ap.parse_args()
    model = a.model if os.path.isfile(a.model) else os.path.join(BUNDLE, a.model)
    if a.side == "python":
        print(json.dumps(python_side(model, a.batches, a.runs, a.warmup, a.threads)))
        return
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        folder = engine_folder(tmp, a.jar)
        java = ["java", "-cp", a.jar]
        args = ["dev.ediff.testkit.bench.OrtRunBenchmark", model, a.batches, str(a.runs), str(a.warmup),
                str(a.threads), a.options]
        variants = {
            "java-a": java + args,
            "python-" + ort.__version__: [sys.executable, os.path.abspath(__file__), "--side", "python", "--model",
                                          model, "--batches", a.batches, "--runs", str(a.runs), "--warmup",
                                          str(a.warmup), "--threads", str(a.threads)],
            "java-on-" + ort.__version__: java[:1] + ["-Donnxruntime.native.path=" + folder] + java[1:] + args,
        }
        if a.jar_b:
            variants["java-b"] = ["java", "-cp", a.jar_b] + args
        got = {k: [] for k in variants}
        names = list(variants)
        for r in range(a.rounds):
            for v in range(len(names)):
                name = names[(v + r) % len(names)]
                p = subprocess.run(variants[name], capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"{name} failed ({p.returncode}):\n{p.stderr[-3000:]}", file=sys.stderr)
                    got[name].append(None)
                    continue
                got[name].append(json.loads(p.stdout.strip().splitlines()[-1]))
        load = open("/proc/loadavg").read().split()[:3]
        print(f"bare session.run of {os.path.relpath(model, ROOT)}, {a.threads} intra-op thread(s), Java options "
              f"'{a.options}', {a.rounds} interleaved rounds x {a.runs} runs (medians); load average {' '.join(load)}")
        print("| variant | engine | " + " | ".join(f"batch {b} wall ms | batch {b} min ms | batch {b} min ms, pinned output | batch {b} CPU ms" for b in a.batches.split(","))
              + " | output sums |")
        print("|---|---|" + "---:|---:|---:|---:|" * len(a.batches.split(",")) + "---|")
        for name in names:
            ok = [g for g in got[name] if g]
            if not ok:
                print(f"| {name} | failed | |")
                continue
            cells = []
            sums = []
            for b in a.batches.split(","):
                w = sorted(g["batches"][b]["wall_ms"] for g in ok)
                c = sorted(g["batches"][b]["cpu_ms"] for g in ok)
                m = sorted(g["batches"][b]["min_ms"] for g in ok)
                pm = sorted(g["batches"][b].get("pinned_min_ms", float("nan")) for g in ok)
                pin = "-" if pm[0] != pm[0] else f"{pm[len(pm) // 2]:.2f}"
                cells.append(f"{w[len(w) // 2]:.2f} | {m[len(m) // 2]:.2f} | {pin} | {c[len(c) // 2]:.2f}")
                sums.append(f"{ok[0]['batches'][b]['sum']:.4f}")
            engine = os.path.basename(ok[0].get("engine_file", ok[0]["ort"]))
            if ok[0].get("impl") == "java":
                engine = f"{ok[0]['ort']} ({engine})"
            print(f"| {name} | {engine} | " + " | ".join(cells) + " | " + ", ".join(sums) + " |")


if __name__ == "__main__":
    main()
