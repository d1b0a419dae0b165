"""One command for issue [mini-1]: data -> tokenizers -> mini-CLIP -> mini-T5 -> judge ->
ONNX export + checks -> metrics. Every stage leaves a marker or checkpoint under work/, so a
rerun skips what is done and resumes what was interrupted.

    python -m mini.build            # full run (from tools/mini)
    python -m mini.build --smoke    # tiny run into work/smoke (minutes), for testing the scripts
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import numpy as np
import torch

from . import data, toks
from .train import log

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIP_BPE = os.path.join(HERE, "..", "..", "..", "shared", "data", "clip", "bpe_simple_vocab_16e6.txt.gz")

FULL = {
    "seed": 20240607,
    "n": {"train": 50000, "val": 2000, "test": 2000},
    "n_empty": 2500,
    "clip": {"seed": 1, "embed": 128, "batch": 128, "steps": 1300, "lr": 2e-3, "p_degrade": 0.3,
             "style_weight": 0.5, "ckpt_every": 100},
    "t5": {"seed": 2, "d_model": 128, "layers": 3, "heads": 4, "d_ff": 320, "batch": 128, "steps": 1500,
           "lr": 2e-3, "ckpt_every": 250},
    "judge": {"seed": 3, "batch": 128, "steps": 1600, "lr": 2e-3, "p_degrade": 0.5, "p_noise": 0.3,
              "noise_max": 0.04, "ckpt_every": 100},
    "t5_vocab": 160,
}
SMOKE = json.loads(json.dumps(FULL))
SMOKE["n"] = {"train": 2000, "val": 200, "test": 300}
SMOKE["n_empty"] = 100
for k in ("clip", "t5", "judge"):
    SMOKE[k]["steps"] = 30
    SMOKE[k]["ckpt_every"] = 10


def find_bpe() -> str:
    for p in (os.environ.get("CLIP_BPE", ""), CLIP_BPE, "/work/shared/data/clip/bpe_simple_vocab_16e6.txt.gz"):
        if p and os.path.exists(p):
            return os.path.abspath(p)
    raise FileNotFoundError("CLIP BPE vocabulary not found; set CLIP_BPE")


def stage_done(work: str, name: str) -> bool:
    return os.path.exists(os.path.join(work, f"{name}.done"))


def mark(work: str, name: str, info=None) -> None:
    with open(os.path.join(work, f"{name}.done"), "w") as f:
        json.dump(info or {}, f)


def write_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=True)
        f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-only", action="store_true",
                    help="stop after the data stage (the encoders and judge are committed under export/)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = SMOKE if args.smoke else FULL
    work = os.path.join(HERE, "work", "smoke" if args.smoke else "full")
    export = os.path.join(work, "export") if args.smoke else os.path.join(HERE, "export")
    prompts_dir = os.path.join(work, "prompts") if args.smoke else os.path.join(HERE, "prompts")
    ddir = os.path.join(work, "data")
    os.makedirs(ddir, exist_ok=True)
    times = json.load(open(os.path.join(work, "times.json"))) if os.path.exists(os.path.join(work, "times.json")) else {}

    def timed(name, fn):
        if stage_done(work, name):
            return
        t = time.time()
        log(f"== {name}")
        fn()
        times[name] = times.get(name, 0.0) + time.time() - t
        with open(os.path.join(work, "times.json"), "w") as f:
            json.dump(times, f, indent=1)
        mark(work, name)

    # ------------------------------------------------------------------ data
    def make_data():
        for split, n in cfg["n"].items():
            if os.path.exists(os.path.join(ddir, split + ".npz")):
                continue
            d = data.build_split(cfg["seed"], split, n, workers=args.threads)
            data.save_split(d, os.path.join(ddir, split))
            log(f"{split}: {n} images")
        rngs = [data.example_rng(cfg["seed"], "judge", i) for i in range(cfg["n_empty"])]
        labs = [data.sample_labels(r, n_objects=0) for r in rngs]
        empty = {"images": np.stack([data.render(l) for l in labs]), "labels": labs,
                 "captions": [""] * len(labs), "specs": [None] * len(labs), **data.labels_to_arrays(labs)}
        data.save_split(empty, os.path.join(ddir, "empty"))
        train_caps = set(data.load_split(os.path.join(ddir, "train"))["captions"])
        held = data.heldout_prompts(cfg["seed"], train_caps)
        os.makedirs(prompts_dir, exist_ok=True)
        with open(os.path.join(prompts_dir, "heldout.jsonl"), "w") as f:
            for h in held:
                f.write(json.dumps(h) + "\n")
        with open(os.path.join(prompts_dir, "heldout.txt"), "w") as f:
            for h in held:
                f.write(h["prompt"] + "\n")
    timed("data", make_data)
    if args.data_only:
        log("data only: done")
        return

    # ------------------------------------------------------------------ tokenizers + case files
    clip_dir, t5_dir, judge_dir = (os.path.join(export, k) for k in ("clip", "t5", "judge"))

    def make_tokenizers():
        ctok = toks.build_clip_tokenizer(find_bpe())
        cases = json.load(open(os.path.join(os.path.dirname(find_bpe()), "..", "..",
                                            "conformance", "clip_tokenizer_cases.json"))) \
            if os.path.exists(os.path.join(os.path.dirname(find_bpe()), "..", "..", "conformance")) else []
        bad = [c["text"] for c in cases if ctok.encode(c["text"]).ids != c["ids"]]
        if bad:
            raise RuntimeError(f"CLIP tokenizer disagrees with the conformance cases: {bad}")
        os.makedirs(clip_dir, exist_ok=True)
        ctok.save(os.path.join(clip_dir, "tokenizer.json"), pretty=False)
        remap = toks.clip_remap(ctok)
        write_json(os.path.join(clip_dir, "vocab_map.json"), {
            "about": "mini-CLIP embeds only the CLIP BPE ids its captions use. local id = 1 + index in "
                     "clip_ids; every other CLIP id maps to local id 0 (UNK). The ONNX text encoder "
                     "takes real CLIP ids and does this gather inside the graph.",
            "clip_ids": remap["clip_ids"], "tokens": remap["tokens"]})
        toks.write_cases(ctok, toks.case_texts(), os.path.join(clip_dir, "tokenizer_cases.json"))
        train = data.load_split(os.path.join(ddir, "train"))
        rng = np.random.default_rng([cfg["seed"], 4242])
        caps = list(train["captions"]) + [data.make_caption(l, rng)[0] for l in train["labels"][:20000]]
        spm_path = toks.train_t5_spm(caps, os.path.join(work, "t5tok"), cfg["t5_vocab"])
        os.makedirs(t5_dir, exist_ok=True)
        shutil.copy(spm_path, os.path.join(t5_dir, "spiece.model"))
        ttok = toks.build_t5_tokenizer(spm_path)
        ttok.save(os.path.join(t5_dir, "tokenizer.json"), pretty=True)
        toks.write_cases(ttok, toks.case_texts(), os.path.join(t5_dir, "tokenizer_cases.json"))
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=spm_path)
        texts = toks.case_texts()
        diff = [t for t in texts if sp.encode(t) + [toks.T5_EOS] != ttok.encode(t).ids]
        write_json(os.path.join(work, "t5_spm_vs_json.json"), {"cases": len(texts), "differ": diff})
        log(f"tokenizers written; T5 tokenizer.json vs sentencepiece differ on {len(diff)} of {len(texts)} cases")
    timed("tokenizers", make_tokenizers)

    from tokenizers import Tokenizer
    ctok = Tokenizer.from_file(os.path.join(clip_dir, "tokenizer.json"))
    ttok = Tokenizer.from_file(os.path.join(t5_dir, "tokenizer.json"))
    remap = toks.clip_remap(ctok)

    from . import train as tr
    from .models import Judge, MiniClip, MiniT5MLM
    splits = {}

    def split(name):
        if name not in splits:
            splits[name] = data.load_split(os.path.join(ddir, name))
        return splits[name]

    timed("train_clip", lambda: tr.train_clip(cfg["clip"], work, ctok, remap, split("train")))
    timed("train_t5", lambda: tr.train_t5(cfg["t5"], work, ttok, split("train")))

    def judge_data():
        tr_, em = split("train"), split("empty")
        return {k: np.concatenate([tr_[k], em[k]]) for k in tr_ if isinstance(tr_[k], np.ndarray)}
    timed("train_judge", lambda: tr.train_judge(cfg["judge"], work, judge_data()))

    # ------------------------------------------------------------------ export + evaluation
    def load_model(kind):
        ck = torch.load(os.path.join(work, f"{kind}.pt"), map_location="cpu", weights_only=False)
        if kind == "clip":
            m = MiniClip(torch.from_numpy(remap["table"]), len(remap["clip_ids"]) + 1, embed=cfg["clip"]["embed"])
        elif kind == "t5":
            c = cfg["t5"]
            m = MiniT5MLM(ttok.get_vocab_size(), d=c["d_model"], layers=c["layers"], heads=c["heads"], d_ff=c["d_ff"])
        else:
            m = Judge()
        m.load_state_dict(ck["model"])
        return m.eval()

    def do_export():
        from . import evaluate, export as ex
        clip, t5, judge = load_model("clip"), load_model("t5"), load_model("judge")
        checks = {}
        B = 3
        rng = np.random.default_rng(0)
        test = split("test")
        caps = test["captions"][:B]
        ids, mask = toks.clip_encode_batch(ctok, caps)
        m = ex.ClipTextExport(clip.text)
        p = os.path.join(clip_dir, "text_encoder.onnx")
        ex.export_onnx(m, (torch.from_numpy(ids), torch.from_numpy(mask)), p,
                       ["input_ids", "attention_mask"], ["last_hidden_state", "text_embeds"],
                       {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                        "last_hidden_state": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}})
        ids5, mask5 = toks.clip_encode_batch(ctok, test["captions"][3:8])
        ids5[0, 3] = 12345  # an id outside the caption vocabulary
        checks["clip_text"] = max(ex.check_onnx(m, p, {"input_ids": ids, "attention_mask": mask}),
                                  ex.check_onnx(m, p, {"input_ids": ids5, "attention_mask": mask5}))
        m = ex.ClipImageExport(clip.image)
        p = os.path.join(clip_dir, "image_encoder.onnx")
        x = tr.clip_normalize(tr.images_to_float(torch.from_numpy(test["images"][:B]))).numpy()
        ex.export_onnx(m, (torch.from_numpy(x),), p, ["pixel_values"], ["image_embeds"],
                       {"pixel_values": {0: "batch", 2: "height", 3: "width"}, "image_embeds": {0: "batch"}})
        x32 = rng.standard_normal((5, 3, 32, 32)).astype(np.float32)
        checks["clip_image"] = max(ex.check_onnx(m, p, {"pixel_values": x}), ex.check_onnx(m, p, {"pixel_values": x32}))
        m = ex.T5Export(t5.encoder)
        p = os.path.join(t5_dir, "encoder.onnx")
        ids, mask = toks.t5_encode_batch(ttok, caps)
        ex.export_onnx(m, (torch.from_numpy(ids), torch.from_numpy(mask)), p,
                       ["input_ids", "attention_mask"], ["last_hidden_state"],
                       {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                        "last_hidden_state": {0: "batch", 1: "sequence"}})
        ids2, mask2 = toks.t5_encode_batch(ttok, test["captions"][3:8], max_len=24)
        checks["t5_encoder"] = max(ex.check_onnx(m, p, {"input_ids": ids, "attention_mask": mask}),
                                   ex.check_onnx(m, p, {"input_ids": ids2, "attention_mask": mask2}))
        m = ex.JudgeExport(judge)
        p = os.path.join(judge_dir, "judge.onnx")
        x = tr.images_to_float(torch.from_numpy(test["images"][:B])).numpy()
        ex.export_onnx(m, (torch.from_numpy(x),), p, ["images"],
                       ["occupied_logits", "shape_logits", "colour_logits", "size_logits",
                        "pattern_logits", "tint_logits"],
                       {"images": {0: "batch", 2: "height", 3: "width"},
                        **{k: {0: "batch"} for k in ("occupied_logits", "shape_logits", "colour_logits",
                                                     "size_logits", "pattern_logits", "tint_logits")}})
        x32 = tr.images_to_float(torch.from_numpy(test["images"][3:8])).numpy()
        x32 = x32.reshape(5, 3, 32, 2, 32, 2).mean(axis=(3, 5))
        checks["judge"] = max(ex.check_onnx(m, p, {"images": x}), ex.check_onnx(m, p, {"images": x32}))
        write_json(os.path.join(judge_dir, "labels.json"), {
            "cells": data.CELLS, "shape": data.SHAPES, "colour": data.COLOURS, "size": data.SIZES,
            "pattern": data.PATTERNS, "tint": data.TINTS})
        log(f"export checks (max abs diff ONNX vs PyTorch): {checks}")
        metrics = {"export_max_abs_diff": checks}
        metrics.update(evaluate.evaluate_all(clip, t5, judge, ctok, ttok, split("test"), work, export))
        metrics["sizes_bytes"] = {os.path.relpath(os.path.join(r, f), export): os.path.getsize(os.path.join(r, f))
                                  for r, _, fs in os.walk(export) for f in fs}
        metrics["params"] = {"clip_text": sum(p.numel() for p in clip.text.parameters()),
                             "clip_image": sum(p.numel() for p in clip.image.parameters()),
                             "t5_encoder": sum(p.numel() for p in t5.encoder.parameters()),
                             "judge": sum(p.numel() for p in judge.parameters())}
        metrics["times_s"] = times
        write_json(os.path.join(export, "metrics.json"), metrics)
    timed("export", do_export)
    # times of the export stage itself land in times.json; copy the final table into metrics
    mpath = os.path.join(export, "metrics.json")
    if os.path.exists(mpath):
        m = json.load(open(mpath))
        m["times_s"] = times
        m["times_s"]["total"] = sum(v for k, v in times.items() if k != "total")
        write_json(mpath, m)
    log(f"done: {json.dumps(times)}")


if __name__ == "__main__":
    main()
