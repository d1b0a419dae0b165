"""One command for [mini-2]: cache -> base pretraining -> binary-tree expert fine-tuning ->
super-resolution -> single-model baseline -> ONNX export + checks -> default bundle.

    python -m mini2.build                 # the whole plan (resumes: every phase checkpoints)
    python -m mini2.build --export-only   # export + bundle from the latest EMA checkpoints
    python -m mini2.build --smoke         # tiny sizes, random stand-in encoders, into work/mini2_smoke

The expert tree (eDiff-I): `pretrain` on all noise levels; it branches into `e1_high`
(sigma >= 5) and `e1_low` (sigma < 5); `e1_low` branches into `e2_mid` (0.5 <= sigma < 5) and
`e2_low` (sigma < 0.5). The final experts are e1_high, e2_mid, e2_low. The `baseline` continues
`pretrain` on all noise levels for as many steps as the four fine-tuning phases together, so both
have the same total training budget.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import torch

from mini.train import log
from . import cache as cache_mod
from . import export as ex
from .train import phase_done, run_phase

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODELS = {
    "base": {"channels": [32, 64, 96], "self_attn": [False, False, True], "cross_attn": [False, True, True],
             "heads": 2, "pos_emb": True},
    "sr": {"channels": [32, 48, 64], "self_attn": [False, False, False], "cross_attn": [False, False, True],
           "heads": 2},
}
SPLITS = [0.5, 5.0]
# Layout (how many objects, where) is decided at sigma ~1-10, which EDM's log-normal
# (P_mean -1.2, P_std 1.2, tuned for texture-rich natural images) samples 16% of the time
# (sigma > 1) and 1% (sigma > 5); shifted: 28% and 4%.
SHIFT = {"p_mean": -0.8, "p_std": 1.4}
SR_SPLIT = 1.0   # the SR stage's two experts: sigma >= 1 (from the low-res image) and < 1 (detail)
INF = float("inf")


def plan(pretrain0: int, pretrain: int, pretrain2: int, branch: int, sr: int, sr_branch: int, seed: int = 11,
         batch: int = 64) -> list:
    """pretrain0 = steps without position embeddings (how session 1 trained; kept so that the
    shipped model's history is one reproducible plan), pretrain = steps after the position
    embeddings were added (zero-initialised, warm start), pretrain2 = steps with the noise levels
    shifted up (SHIFT); branch = steps of each of the four fine-tuning phases; the baseline gets
    4 * branch; sr_branch = steps of each of the two SR experts (sr_high, sr_low, branched from sr),
    whose equal-budget single-model twin sr_one gets 2 * sr_branch."""
    s1, s2 = SPLITS
    ft = dict(SHIFT, kind="base", lr=5e-4, warmup=50, batch=batch, ema=0.995)
    srp = {"kind": "sr", "lo": 0.0, "hi": INF, "dist": "lognormal", "lr": 5e-4, "warmup": 50, "batch": batch,
           "ema": 0.995, "batch_args": {"crop": 32, "aug_max": 0.4}}
    pre = {"kind": "base", "lo": 0.0, "hi": INF, "dist": "lognormal", "lr": 1e-3, "batch": batch, "ema": 0.995}
    phases = [
        dict(pre, name="pretrain0", steps=pretrain0, warmup=200, seed=seed, model={"pos_emb": False}),
        dict(pre, name="pretrain", parent="pretrain0", steps=pretrain, warmup=50, seed=seed + 7),
        dict(pre, name="pretrain2", parent="pretrain", steps=pretrain2, warmup=50, seed=seed + 8, **SHIFT),
        dict(ft, name="e1_high", parent="pretrain2", steps=branch, lo=s2, hi=80.0, dist="loguniform", seed=seed + 1),
        dict(ft, name="e1_low", parent="pretrain2", steps=branch, lo=0.0, hi=s2, dist="lognormal", seed=seed + 2),
        dict(ft, name="e2_mid", parent="e1_low", steps=branch, lo=s1, hi=s2, dist="lognormal", seed=seed + 3),
        dict(ft, name="e2_low", parent="e1_low", steps=branch, lo=0.0, hi=s1, dist="lognormal", seed=seed + 4),
        dict(srp, name="sr", steps=sr, lr=1e-3, warmup=100, seed=seed + 5),
        dict(srp, name="sr_high", parent="sr", steps=sr_branch, lo=SR_SPLIT, seed=seed + 9),
        dict(srp, name="sr_low", parent="sr", steps=sr_branch, hi=SR_SPLIT, seed=seed + 10),
        dict(srp, name="sr_one", parent="sr", steps=2 * sr_branch, seed=seed + 12),
        dict(ft, name="baseline", parent="pretrain2", steps=4 * branch, lo=0.0, hi=INF, dist="lognormal",
             seed=seed + 6),
    ]
    if pretrain0 == 0:
        phases = phases[1:]
        del phases[0]["parent"]
    return phases


# [mini-3]: the experts' split moves down to 2 so that the high expert owns every noise level
# where layout is decided (the position probe learns position words on sigma in [2, 40]).
SPLITS_M3 = [0.5, 2.0]
# the shipped [mini-2] models a session can branch from instead of retraining them (mini2.recover)
RECOVER = {"e1_high": ("base", "ediff-examples/src/main/resources/dev/ediff/models/default/base/high.onnx"),
           "e2_mid": ("base", "ediff-examples/src/main/resources/dev/ediff/models/default/base/mid.onnx"),
           "e2_low": ("base", "ediff-examples/src/main/resources/dev/ediff/models/default/base/low.onnx"),
           "baseline": ("base", "tools/mini/export/baseline/base.onnx"),
           "sr_one": ("sr", "ediff-examples/src/main/resources/dev/ediff/models/default/sr/sr.onnx")}
MINI2_COMMIT = "8c5ec54"   # the commit whose bundle holds the [mini-2] models
SOURCES_M4 = {"base/high": ["m4_high"], "base/mid": ["m4_mid"], "base/low": ["m4_low"],
              "baseline/base": ["m4_base"], "sr/sr": ["sr_one", "sr"]}
SOURCES_M5 = {"base/high": ["m5_high"], "base/mid": ["m5_mid"], "base/low": ["m4_low"],
              "baseline/base": ["m5_base"], "sr/sr": ["sr_one", "sr"]}
SOURCES_M3 = {"base/high": ["m3_high2", "m3_high", "e1_high"], "base/mid": ["m3_mid", "e2_mid"],
              "base/low": ["m3_low", "e2_low"], "baseline/base": ["m3_base2", "m3_base", "baseline"],
              "sr/sr": ["sr_one", "sr"]}


def plan_m3(high: int, high2: int, mid: int, low: int, base1: int = 160, p_clip: float = 0.3, single_repeat: int = 3,
            high3: int = 0, pair_repeat: int = 3, p_clip3: float = 0.5, high4: int = 0, ground: float = 0.05,
            phrases: tuple = (), phrases2: tuple = (), seed: int = 31, batch: int = 64) -> list:
    """[mini-3] on top of the [mini-2] tree: each expert fine-tuned on its own interval of the new
    split. High (log-uniform on [2, 80], where layout is decided): captions that state a cell or
    relation whenever the image has one; `m3_high` on all images, then `m3_high2` with the
    one-object images whose caption states the cell `single_repeat` times as often (after 100
    steps of m3_high the position words still made no difference: too few such examples). CLIP
    text dropped with p_clip (0.1 before), so T5-only batches are ~24% instead of ~8% (the T5
    diagnosis, MODEL_CARD). The single-model baseline gets the same number of steps on the
    mixture of the experts' noise distributions: `m3_base` (base1 steps, regular data, mixture
    3:1 of the high and mid intervals), then `m3_base2` with the rest (mixture high2 : mid, the
    oversampled data of m3_high2). `m3_high3` (if high3 > 0): m3_high2 continued on the same
    interval with the two-object images (relation captions) `pair_repeat` times as often as well
    (~63% of samples with single_repeat = pair_repeat = 3) and CLIP text dropped with p_clip3
    (T5 alone in ~40% of samples); after 700 steps of m3_high2 with ~36% pairs the relation word
    still made no difference (position_probe --pairs). Not part of the equal-compute baseline.
    `m3_high4` (if high4 > 0): m3_high2 continued on the same interval and data mix as m3_high3
    (p_clip 0.3), with a text refiner (unet.TextRefiner) and the grounding loss (mini2.grounding,
    weight `ground`) that teaches each object phrase's tokens to attend from the object's cell."""
    s1, s2 = SPLITS_M3
    ft = dict(SHIFT, kind="base", lr=5e-4, warmup=50, batch=batch, ema=0.995, ckpt_every=50,
              batch_args={"p_clip": p_clip}, placed_above=s2)
    hi_c, mid_c, low_c = (s2, 80.0, "loguniform"), (s1, s2, "lognormal"), (0.0, s1, "lognormal")
    mix1 = [(3, *hi_c), (1, *mid_c)]
    mix2 = [(w, *c) for w, c in ((high2, hi_c), (mid, mid_c), (low, low_c)) if w > 0]
    high3_phases = [dict(ft, name="m3_high3", parent="m3_high2", steps=high3, lo=s2, hi=80.0, dist="loguniform",
                         single_repeat=single_repeat, pair_repeat=pair_repeat, batch_args={"p_clip": p_clip3},
                         seed=seed + 8)] if high3 > 0 else []
    high4_phases = [dict(ft, name="m3_high4", parent="m3_high2", steps=high4, lo=s2, hi=80.0, dist="loguniform",
                         single_repeat=single_repeat, pair_repeat=pair_repeat, batch_args={"p_clip": p_clip},
                         model={"refiner": True}, ground=ground, seed=seed + 9)] if high4 > 0 else []
    return [dict(ft, name="m3_high", parent="e1_high", steps=high, lo=s2, hi=80.0, dist="loguniform", seed=seed + 1),
            dict(ft, name="m3_high2", parent="m3_high", steps=high2, lo=s2, hi=80.0, dist="loguniform",
                 single_repeat=single_repeat, seed=seed + 5),
            dict(ft, name="m3_mid", parent="e2_mid", steps=mid, lo=s1, hi=s2, dist="lognormal", seed=seed + 2),
            dict(ft, name="m3_low", parent="e2_low", steps=low, lo=0.0, hi=s1, dist="lognormal", seed=seed + 3),
            dict(ft, name="m3_base", parent="baseline", steps=base1, lo=0.0, hi=INF, dist=mix1, seed=seed + 4),
            dict(ft, name="m3_base2", parent="m3_base", steps=high + high2 + mid + low - base1, lo=0.0, hi=INF,
                 dist=mix2, single_repeat=single_repeat, seed=seed + 6)] + high3_phases + high4_phases \
        + (plan_phrases(ft, *phrases, single_repeat=single_repeat, seed=seed) if phrases else []) \
        + (plan_phrases2(ft, *phrases2, single_repeat=single_repeat, seed=seed) if phrases2 else [])


# session 6: the validation prompts (mini2.evaluate --splits) said the m4 mid expert draws extra
# copies of the object on [1, 2) where the high expert does not (count 73% -> 92% routed at 1.0)
SPLITS_M5 = [0.5, 1.0]


def plan_phrases2(ft: dict, high: int, mid: int, single_repeat: int = 3, pair_repeat: int = 2,
                  seed: int = 31) -> list:
    """Round 2 of the per-phrase phases with the split moved to SPLITS_M5: m4_high continued on
    [1, 80] (log-uniform), m4_mid on [0.5, 1); low unchanged; the baseline m4_base continued for
    the same steps on the mixture of the two new intervals."""
    s1, s2 = SPLITS_M5
    pp = dict(ft, phrases=True, single_repeat=single_repeat, pair_repeat=pair_repeat)
    mix = [(high, s2, 80.0, "loguniform"), (mid, s1, s2, "lognormal")]
    return [dict(pp, name="m5_high", parent="m4_high", steps=high, lo=s2, hi=80.0, dist="loguniform", seed=seed + 21),
            dict(pp, name="m5_mid", parent="m4_mid", steps=mid, lo=s1, hi=s2, dist="lognormal", seed=seed + 22),
            dict(pp, name="m5_base", parent="m4_base", steps=high + mid, lo=0.0, hi=INF, dist=mix, seed=seed + 24)]


def plan_phrases(ft: dict, high: int, mid: int, low: int, single_repeat: int = 3, pair_repeat: int = 2,
                 seed: int = 31) -> list:
    """[mini-3] session 6: the experts and the single model continued on per-phrase conditioning
    (mini2.phrases: each object's phrase with its cell encoded on its own, the input the SDK's
    layout step gives them). Each expert on its own interval; the baseline the same total steps on
    the mixture of the intervals, so experts and baseline keep equal compute (m3 + these)."""
    s1, s2 = SPLITS_M3
    pp = dict(ft, phrases=True, single_repeat=single_repeat, pair_repeat=pair_repeat)
    mix = [(w, *c) for w, c in ((high, (s2, 80.0, "loguniform")), (mid, (s1, s2, "lognormal")),
                                (low, (0.0, s1, "lognormal"))) if w > 0]
    return [dict(pp, name="m4_high", parent="m3_high2", steps=high, lo=s2, hi=80.0, dist="loguniform", seed=seed + 11),
            dict(pp, name="m4_mid", parent="m3_mid", steps=mid, lo=s1, hi=s2, dist="lognormal", seed=seed + 12),
            dict(pp, name="m4_low", parent="e2_low", steps=low, lo=0.0, hi=s1, dist="lognormal", seed=seed + 13),
            dict(pp, name="m4_base", parent="m3_base2", steps=high + mid + low, lo=0.0, hi=INF, dist=mix,
                 seed=seed + 14)]


def needed(phases: list, work: str, targets: set) -> set:
    """The phases to run for `targets`: a target that is not done, and the parents of a phase to
    run that are not done (recovered parents count as done)."""
    by = {p["name"]: p for p in phases}
    need = set()
    for ph in reversed(phases):
        if (ph["name"] in targets or ph["name"] in need) and not phase_done(work, ph):
            need.add(ph["name"])
            if ph.get("parent") and not os.path.exists(os.path.join(work, ph["name"] + ".pt")):
                need.add(ph["parent"])   # a phase with a checkpoint resumes; it needs no parent
    return {n for n in need if not phase_done(work, by[n])}


# the shipped [mini-3] experts (the default bundle from the commit that shipped them on)
RECOVER_M3 = {"m3_high2": RECOVER["e1_high"], "m3_mid": RECOVER["e2_mid"]}
# the equal-compute baseline finished later: at 97c672a export/baseline/base.onnx is still [mini-2]'s
M3_BASELINE = ("0ea7085", {"m3_base2": RECOVER["baseline"]})


def recover_mini2(work: str, rev: str, phases: list, which: dict = RECOVER) -> None:
    """Writes final checkpoints of the phases in `which` from the ONNX files at git revision
    `rev` (the PyTorch checkpoints were git-ignored), marked done with the plan's step counts."""
    import subprocess
    import tempfile
    from .recover import save_recovered
    by = {p["name"]: p for p in phases}
    repo = os.path.dirname(os.path.dirname(HERE))
    for phase, (kind, path) in which.items():
        out = os.path.join(work, phase + ".pt")
        if os.path.exists(out):
            continue
        with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
            f.write(subprocess.run(["git", "-C", repo, "show", f"{rev}:{path}"], check=True,
                                   capture_output=True).stdout)
            f.flush()
            save_recovered(f.name, kind, out, {"step": by[phase]["steps"], "recovered_rev": rev}, by[phase])


RESUME = os.path.join(HERE, "resume")   # committed compact checkpoints of unfinished phases


def pack_resume(work: str, phase: str) -> str:
    """Writes resume/<phase>.pt: model and EMA in float16, Adam moments in bfloat16 (float32's
    exponent range: the second moments are far below float16's smallest number); half the size,
    and resuming from it continues the phase with rounding-level differences."""
    ck = torch.load(os.path.join(work, phase + ".pt"), map_location="cpu", weights_only=False)
    half = lambda d, t: {k: (v.to(t) if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0 else v)
                         for k, v in d.items()}
    ck["model"], ck["ema"] = half(ck["model"], torch.float16), half(ck["ema"], torch.float16)
    ck["opt"]["state"] = {i: half(st, torch.bfloat16) for i, st in ck["opt"]["state"].items()}
    os.makedirs(RESUME, exist_ok=True)
    out = os.path.join(RESUME, phase + ".pt")
    torch.save(ck, out)
    return out


def unpack_resume(work: str) -> None:
    """resume/<phase>.pt -> work/<phase>.pt (float32) for every phase without a checkpoint."""
    if not os.path.isdir(RESUME):
        return
    for fn in sorted(os.listdir(RESUME)):
        dst = os.path.join(work, fn)
        if not fn.endswith(".pt") or os.path.exists(dst):
            continue
        ck = torch.load(os.path.join(RESUME, fn), map_location="cpu", weights_only=False)
        full = lambda d: {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in d.items()}
        ck["model"], ck["ema"] = full(ck["model"]), full(ck["ema"])
        ck["opt"]["state"] = {i: full(st) for i, st in ck["opt"]["state"].items()}
        torch.save(ck, dst)
        log(f"resume: {fn} (step {ck['state']['step']}) from {RESUME}")


PLANS = {
    # the shipped model (sessions 1 + 2, ~2.9 h on 2 cores): 1300 steps without position
    # embeddings, 500 with, 1500 with the noise levels shifted up, 4 x 200 expert fine-tuning
    # steps (baseline: 800); SR 400, then 2 x 100 as experts (single twin: 200)
    "full": {"pretrain0": 1300, "pretrain": 500, "pretrain2": 1500, "branch": 200, "sr": 400, "sr_branch": 100},
    # ~1 hour: for trying changes
    "quick": {"pretrain0": 0, "pretrain": 300, "pretrain2": 1200, "branch": 150, "sr": 300, "sr_branch": 60},
    # [mini-3]: the full plan, then the m3 phases (plan_m3); --recover REV takes the full plan's
    # final models from the ONNX files at REV instead of training them
    "m3": {"high": 160, "high2": 700, "mid": 100, "low": 0},
    "smoke": {"pretrain0": 3, "pretrain": 3, "pretrain2": 3, "branch": 3, "sr": 4, "sr_branch": 2},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--plan", default="full", choices=sorted(PLANS))
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--no-bundle", action="store_true")
    ap.add_argument("--bundle-dir", default=None, help="assemble the bundle here instead of the SDK's default bundle")
    ap.add_argument("--baseline-bundle", default=None,
                    help="also assemble a bundle whose base stage is the single-model baseline (e.g. work/bundles/baseline)")
    ap.add_argument("--sr", default="one", choices=["one", "experts"],
                    help="the default bundle's SR stage: one model (sr_one) or two experts (sr_low, sr_high)")
    ap.add_argument("--sr-bundle", default=None, help="also assemble a bundle with the other SR choice here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--deadline", default=None, help="HH:MM local time: checkpoint and go to export then")
    ap.add_argument("--only", default=None, help="comma-separated phases to run (default: all)")
    ap.add_argument("--no-export", action="store_true",
                    help="train only (e.g. the baseline in a second process beside the experts)")
    ap.add_argument("--recover", default=None, metavar="REV",
                    help=f"plan m3: branch from the [mini-2] models in the ONNX files at git REV (e.g. {MINI2_COMMIT})")
    ap.add_argument("--recover-m3", default=None, metavar="REV",
                    help="plan m3: take the finished m3 experts (m3_high2, m3_mid) from the files at git REV "
                         "(and m3_base2 from export/baseline at M3_BASELINE's commit)")
    ap.add_argument("--high3", type=int, default=0, metavar="STEPS",
                    help="plan m3: add the experiment m3_high3 (m3_high2 continued, pairs ~63%% of samples, p_clip "
                         "0.5) with STEPS steps; the export's high expert is then m3_high3 (not the shipped model)")
    ap.add_argument("--high4", type=int, default=0, metavar="STEPS",
                    help="plan m3: add m3_high4 (m3_high2 continued with a text refiner and the grounding loss) "
                         "with STEPS steps; the export's high expert is then m3_high4")
    ap.add_argument("--ground", type=float, default=0.05, help="m3_high4's grounding loss weight")
    ap.add_argument("--phrases", default=None, metavar="HIGH,MID,LOW",
                    help="plan m3: add the per-phrase phases m4_high/m4_mid/m4_low (and m4_base with their sum) "
                         "with these steps; the export's experts and baseline are then the m4 models")
    ap.add_argument("--phrases2", default=None, metavar="HIGH,MID",
                    help="with --phrases: round 2 (m5_high, m5_mid, m5_base) with the split moved to SPLITS_M5; "
                         "the export's experts and baseline are then the m5 models (low: m4_low) and the split SPLITS_M5")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.smoke:
        args.plan = "smoke"
    work = os.path.join(HERE, "work", "mini2_smoke" if args.smoke else "mini2")
    export_dir = os.path.join(HERE, "export")                 # [mini-1]'s encoders, tokenizers, judge
    den_dir = os.path.join(work, "onnx")                       # the denoisers (copied into the bundle)
    os.makedirs(work, exist_ok=True)
    cfg = {"base": MODELS["base"], "sr": MODELS["sr"], "splits": SPLITS, "sr_split": SR_SPLIT, "guidance": 3.0,
           "augmentation_sigma": 0.1}
    deadline = float("inf")
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        lt = time.localtime()
        deadline = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, hh, mm, 0, 0, 0, -1))
    m3 = args.plan == "m3"
    cfg["layout"] = bool(args.phrases)   # the bundle declares the layout step its experts were trained for
    if m3:
        cfg["splits"] = SPLITS_M3
        full = plan(**PLANS["full"])
        phr = tuple(int(v) for v in args.phrases.split(",")) if args.phrases else ()
        phr2 = tuple(int(v) for v in args.phrases2.split(",")) if args.phrases2 else ()
        phases = full + plan_m3(**PLANS["m3"], high3=args.high3, high4=args.high4, ground=args.ground, phrases=phr,
                                phrases2=phr2)
        if phr2:
            cfg["splits"] = SPLITS_M5
        if args.recover:
            recover_mini2(work, args.recover, full)
        if args.recover_m3:
            recover_mini2(work, args.recover_m3, phases, RECOVER_M3)
            recover_mini2(work, M3_BASELINE[0], phases, M3_BASELINE[1])
        unpack_resume(work)
    else:
        phases = plan(**PLANS[args.plan])
    times = {}
    if not args.export_only:
        cpath = cache_mod.build(os.path.join(work, "cache"), os.path.join(HERE, "work", "full", "data"),
                                n=2000 if args.smoke else None, random_encoders=args.smoke)
        cache = torch.load(cpath, map_location="cpu", weights_only=False)
        only = set(args.only.split(",")) if args.only else None
        if m3:   # only what the m3 models (or the ones named by --only) still need
            targets = {"m3_high4", "m3_high3", "m3_high2", "m3_mid", "m3_low", "m3_base2", "sr_one",
                       "m4_high", "m4_mid", "m4_low", "m4_base", "m5_high", "m5_mid", "m5_base"}
            only = needed(phases, work, targets & only if only else targets) or {"-"}
        for ph in phases:
            if only and ph["name"] not in only:
                continue
            if phase_done(os.path.join(work), ph):
                continue
            if time.time() > deadline:
                log(f"deadline: skipping {ph['name']}")
                continue
            st = run_phase(cfg, ph, work, cache, deadline)
            times[ph["name"]] = {"steps": st["step"], "elapsed_s": round(st["elapsed"])}
        with open(os.path.join(work, "times.json"), "a") as f:
            f.write(json.dumps({"at": time.strftime("%H:%M:%S"), "plan": args.plan, "phases": times}) + "\n")
    if args.no_export:
        log("trained; no export (--no-export)")
        return
    with open(os.path.join(work, "plan.json"), "w") as f:
        json.dump({"plan": args.plan, "phases": phases, "models": MODELS}, f, indent=1, default=str)
    sources = SOURCES_M3
    if args.high3:
        sources = dict(SOURCES_M3, **{"base/high": ["m3_high3"] + SOURCES_M3["base/high"]})
    if args.high4:
        sources = dict(SOURCES_M3, **{"base/high": ["m3_high4"] + SOURCES_M3["base/high"]})
    if args.phrases:
        sources = SOURCES_M5 if args.phrases2 else SOURCES_M4
    report = ex.export_all(cfg, work, den_dir, sources if m3 else None)
    if args.smoke:
        ex.assemble(cfg, export_dir, den_dir, os.path.join(work, "bundle"), sr=args.sr)
        return
    # committed beside [mini-1]'s exports: the baseline (for the quality table; not in the bundle)
    # and the export report
    if "baseline/base" in report:
        os.makedirs(os.path.join(export_dir, "baseline"), exist_ok=True)
        shutil.copyfile(os.path.join(den_dir, "baseline", "base.onnx"), os.path.join(export_dir, "baseline", "base.onnx"))
    with open(os.path.join(export_dir, "denoisers.json"), "w") as f:
        json.dump({"plan": args.plan, "export": report}, f, indent=1)
    need = ("sr/high", "sr/low") if args.sr == "experts" else ("sr/sr",)
    if not args.no_bundle and all(k in report for k in ("base/high", "base/mid", "base/low") + need):
        ex.assemble(cfg, export_dir, den_dir, os.path.abspath(args.bundle_dir) if args.bundle_dir else ex.BUNDLE,
                    sr=args.sr)
    other = "experts" if args.sr == "one" else "one"
    if args.sr_bundle and all(k in report for k in ("sr/high", "sr/low")):
        ex.assemble(cfg, export_dir, den_dir, os.path.abspath(args.sr_bundle), sr=other)
    if args.baseline_bundle and "baseline/base" in report:
        ex.assemble(cfg, export_dir, den_dir, os.path.abspath(args.baseline_bundle), baseline=True)
    log("done")


if __name__ == "__main__":
    main()
