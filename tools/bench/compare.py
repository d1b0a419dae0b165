"""Runs the SDK and the Python + ONNX Runtime loop (ort_loop.py) side by side, interleaved round by
round (the order alternates), and prints issue #14's table as medians over the rounds with ratios.

  python tools/bench/compare.py [--rounds 3] [--threads 1] [--jar ediff-cli/target/ediff.jar]
                                [--java-opts "-XX:TieredStopAtLevel=1"] [--cli ediff-cli/target/ediff]

Needs a built ediff.jar (mvn -B -q package -DskipTests) and a Python with onnxruntime, numpy and
tokenizers (tools/bench/README.md). Each round starts fresh processes: batches 1 and 4 in one (its
peak resident memory is the "4 images" figure), batch 16 in another, and one CLI run that writes
one PNG (cold start to first PNG: wall and CPU time; with the launcher ediff-cli/target/ediff when
it was built, else java -jar). --java-opts are JVM options for the SDK's benchmark process.
--torch adds torch_loop.py (the same loop with the U-Nets in PyTorch eager) to every round, in the
rotation, with --torch-python (a Python with torch, e.g. tools/mini/.venv/bin/python) and
--torch-cache (its recovered weights); the table gets a "PyTorch eager" column (batches 1 and 4).
--java-opts-b OPTS adds a second SDK variant with those JVM options (e.g.
-Dediff.onnxruntime.library=.../libonnxruntime.so.1.30.0) to every round, with its own ratio column.
--jar-b JAR does the same with another ediff.jar (e.g. one built with -Donnxruntime.version=1.29.0),
with --java-opts-b or else --java-opts.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PROMPT = "a small red circle above a large blue square"


def run_json(cmd):
    spawned = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    if "loaded_at" in res:
        # wall time from this process starting the child to the child's model being loaded: the same
        # clock for both sides, covering what load_s leaves out (JVM start, Python's imports)
        res["spawn_to_loaded_s"] = res["loaded_at"] - spawned
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jar", default=os.path.join(ROOT, "ediff-cli", "target", "ediff.jar"))
    ap.add_argument("--java", default="java")
    ap.add_argument("--java-opts", default="", help="JVM options for the SDK's benchmark process")
    ap.add_argument("--java-opts-b", default=None,
                    help="a second SDK variant with these JVM options, interleaved (e.g. another onnxruntime.native.path)")
    ap.add_argument("--jar-b", default=None,
                    help="a second ediff.jar (e.g. built with -Donnxruntime.version=1.29.0) for the SDK (B) variant")
    ap.add_argument("--cli", default=os.path.join(ROOT, "ediff-cli", "target", "ediff"),
                    help="the CLI launcher (java -jar JAR when it does not exist)")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--big", default="16", help="the large batch, run in its own process ('' to skip)")
    ap.add_argument("--torch", action="store_true", help="add the PyTorch eager loop (torch_loop.py)")
    ap.add_argument("--torch-python", default=sys.executable)
    ap.add_argument("--torch-cache", default=os.path.join(tempfile.gettempdir(), "ediff-torch-loop-cache"))
    a = ap.parse_args()
    py = [sys.executable, os.path.join(HERE, "ort_loop.py"), "--json", "--threads", str(a.threads), "--runs", "1"]
    jv = [a.java, *shlex.split(a.java_opts), "-cp", a.jar, "dev.ediff.testkit.bench.PipelineBenchmark", "--json", "--threads", str(a.threads),
          "--runs", "1"]
    th = [a.torch_python, os.path.join(HERE, "torch_loop.py"), "--json", "--threads", str(a.threads), "--runs", "1",
          "--cache", a.torch_cache]
    jb = None
    if a.java_opts_b is not None or a.jar_b:
        opts_b = a.java_opts if a.java_opts_b is None else a.java_opts_b
        jb = [a.java, *shlex.split(opts_b), "-cp", a.jar_b or a.jar, *jv[3 + len(shlex.split(a.java_opts)):]]
    res = {"sdk": [], "py": [], "th": [], "sdkb": [], "sdk16": [], "py16": [], "sdkb16": [], "cli": [], "cli_cpu": []}
    cli = [a.cli] if os.access(a.cli, os.X_OK) else [a.java, "-jar", a.jar]
    for r in range(a.rounds):
        order = [("sdk", jv), ("py", py)] if r % 2 == 0 else [("py", py), ("sdk", jv)]
        if a.torch or jb:
            order = [("sdk", jv), ("py", py)] + ([("sdkb", jb)] if jb else []) + ([("th", th)] if a.torch else [])
            order = order[r % len(order):] + order[:r % len(order)]
        for name, cmd in order:
            res[name].append(run_json(cmd + ["--batches", "1,4"]))
            print(f"round {r}: {name} batches 1,4: {res[name][-1]}", file=sys.stderr)
        if a.big:
            for name, cmd in order:
                if name == "th":
                    continue
                res[name + "16"].append(run_json(cmd + ["--batches", a.big]))
        if not a.no_cli:
            with tempfile.TemporaryDirectory() as out:
                t = time.perf_counter()
                u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(cli + ["generate", "--seed", "1", "--count", "1", "--out", out, PROMPT],
                               check=True, capture_output=True)
                u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                res["cli"].append(time.perf_counter() - t)
                res["cli_cpu"].append(u1.ru_utime + u1.ru_stime - u0.ru_utime - u0.ru_stime)

    def med(rows, f):
        try:
            return statistics.median(f(x) for x in rows)
        except KeyError:  # a variant from before the key existed (an older jar as --jar-b)
            return float("nan")

    lines = []
    for what, key in (("", "batches"), (" (CPU time)", "cpu_s")):
        for b in ("1", "4"):
            s, p = med(res["sdk"], lambda x: x[key][b]), med(res["py"], lambda x: x[key][b])
            lines.append((f"end to end, batch {b}, in process{what}", f"{s:.3f} s", f"{p:.3f} s", f"{p / s:.2f}x"))
        if a.big:
            s, p = med(res["sdk16"], lambda x: x[key][a.big]), med(res["py16"], lambda x: x[key][a.big])
            lines.append((f"end to end, batch {a.big}, in process{what}", f"{s:.3f} s", f"{p:.3f} s", f"{p / s:.2f}x"))
    s, p = med(res["sdk"], lambda x: x["load_s"]), med(res["py"], lambda x: x["load_s"])
    lines.append(("loading the default model", f"{s:.3f} s", f"{p:.3f} s", f"{p / s:.2f}x"))
    s, p = med(res["sdk"], lambda x: x["spawn_to_loaded_s"]), med(res["py"], lambda x: x["spawn_to_loaded_s"])
    lines.append(("process start to model loaded (wall)", f"{s:.3f} s", f"{p:.3f} s", f"{p / s:.2f}x"))
    s, p = med(res["sdk"], lambda x: x["cpu_to_loaded_s"]), med(res["py"], lambda x: x["cpu_to_loaded_s"])
    lines.append(("CPU time from process start to model loaded", f"{s:.3f} s", f"{p:.3f} s", f"{p / s:.2f}x"))
    s, p = med(res["sdk"], lambda x: x["peak_rss_mib"]), med(res["py"], lambda x: x["peak_rss_mib"])
    lines.append(("peak resident memory, 4 images", f"{s:.0f} MiB", f"{p:.0f} MiB", f"{s / p:.2f} (SDK/Python)"))
    if res["cli"]:
        lines.append((f"CLI wall time for one image, cold ({os.path.basename(cli[0])})",
                      f"{statistics.median(res['cli']):.2f} s", "-", "-"))
        lines.append(("CLI CPU time for one image, cold", f"{statistics.median(res['cli_cpu']):.2f} s", "-", "-"))
    for b in ("1", "4"):
        lines.append((f"Java allocation per generation, batch {b}",
                      f"{med(res['sdk'], lambda x: x['alloc_bytes'][b]) / 1e6:.2f} MB", "-", "-"))
    if a.big:
        lines.append((f"Java allocation per generation, batch {a.big}",
                      f"{med(res['sdk16'], lambda x: x['alloc_bytes'][a.big]) / 1e6:.2f} MB", "-", "-"))
    print(f"{a.rounds} interleaved round(s), {a.threads} intra-op thread(s); medians; ratio = Python time / SDK time;"
          f" SDK JVM options: {a.java_opts or '(none)'}; load average {os.getloadavg()[0]:.1f}")
    print("(CPU time is the process's, all threads: on a busy machine it is steadier than wall time)")
    if jb:
        print(f"SDK (B): JVM options {a.java_opts_b if a.java_opts_b is not None else a.java_opts or '(none)'}"
              + (f", jar {a.jar_b}" if a.jar_b else ""))
        print("| | SDK | SDK (B) | Python + ORT | ratio | ratio (B) |")
        print("|---|---:|---:|---:|---:|---:|")
        for what, key in (("", "batches"), (" (CPU time)", "cpu_s")):
            for b in ("1", "4") + ((a.big,) if a.big else ()):
                sfx = "16" if b == a.big and b not in ("1", "4") else ""
                s, sb = med(res["sdk" + sfx], lambda x: x[key][b]), med(res["sdkb" + sfx], lambda x: x[key][b])
                p = med(res["py" + sfx], lambda x: x[key][b])
                print(f"| end to end, batch {b}{what} | {s:.3f} s | {sb:.3f} s | {p:.3f} s | {p / s:.2f}x | {p / sb:.2f}x |")
        for label, k in (("loading the default model", "load_s"), ("process start to model loaded (wall)", "spawn_to_loaded_s"),
                         ("CPU time to model loaded", "cpu_to_loaded_s")):
            s, sb, p = (med(res[n], lambda x: x[k]) for n in ("sdk", "sdkb", "py"))
            print(f"| {label} | {s:.3f} s | {sb:.3f} s | {p:.3f} s | {p / s:.2f}x | {p / sb:.2f}x |")
        s, sb, p = (med(res[n], lambda x: x["peak_rss_mib"]) for n in ("sdk", "sdkb", "py"))
        print(f"| peak resident memory, 4 images | {s:.0f} MiB | {sb:.0f} MiB | {p:.0f} MiB | {s / p:.2f} | {sb / p:.2f} |")
        return
    if not a.torch:
        print("| | SDK | Python + ORT | ratio |")
        print("|---|---:|---:|---:|")
        for row in lines:
            print("| " + " | ".join(row) + " |")
        return
    # the PyTorch eager column: batches 1 and 4 (time and CPU time), load and peak memory
    tcol = {}
    for what, key in (("", "batches"), (" (CPU time)", "cpu_s")):
        for b in ("1", "4"):
            t = med(res["th"], lambda x: x[key][b])
            p = med(res["py"], lambda x: x[key][b])
            tcol[f"end to end, batch {b}, in process{what}"] = f"{t:.3f} s ({p / t:.2f}x of Python + ORT)"
    tcol["loading the default model"] = f"{med(res['th'], lambda x: x['load_s']):.3f} s (weights from the cache)"
    tcol["CPU time from process start to model loaded"] = f"{med(res['th'], lambda x: x['cpu_to_loaded_s']):.3f} s"
    tcol["peak resident memory, 4 images"] = f"{med(res['th'], lambda x: x['peak_rss_mib']):.0f} MiB"
    diff = max(max(x["max_abs_diff_vs_ort"].values()) for x in res["th"])
    print(f"PyTorch eager: torch {res['th'][0]['torch']}, text encoders on ONNX Runtime; denoisers vs ORT max abs diff"
          f" {diff:.1e}")
    print("| | SDK | Python + ORT | ratio | PyTorch eager |")
    print("|---|---:|---:|---:|---:|")
    for row in lines:
        print("| " + " | ".join(row) + f" | {tcol.get(row[0], '-')} |")


if __name__ == "__main__":
    main()
