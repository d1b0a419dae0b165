"""Builds tiny random-weight models in the Hugging Face / optimum ONNX folder layout (SD 1.x, SD 2.x,
SDXL base, SDXL refiner, SD3) and the Python reference outputs the Java tests compare against.

    tools/public_models/build.sh            # venv + this script, writes into the repository

Outputs (relative to the repository root):
  ediff-onnx/src/test/resources/diffusers/<family>/...   the model folders
  ediff-onnx/src/test/resources/diffusers/references/    per-case JSON + .npy arrays
  ediff-core/src/test/resources/diffusers/schedules.json  scheduler timesteps / sigmas
"""
import argparse
import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import sentencepiece as spm
import torch
from torch import nn
from transformers import (CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer, T5Config,
                          T5EncoderModel, T5Tokenizer)

import nets
import schedulers as S

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "ediff-onnx/src/test/resources/diffusers"
REF = FIX / "references"
CORE_REF = REPO / "ediff-core/src/test/resources/diffusers"

CORPUS = """a red cube on a blue table
a photograph of an astronaut riding a horse on the moon
a watercolor painting of a fox in the snow
the quick brown fox jumps over the lazy dog
a cat sitting next to a dog under a tree
an oil painting of a lighthouse at sunset, dramatic clouds
a small house with a green roof near a river
portrait of an old man with a beard, studio lighting
a bowl of fruit: apples, oranges and bananas!
two birds flying over the mountains at dawn
a robot reading a book in a library
blurry, low quality, watermark, text, ugly
"""

PROMPT = "a red cube on a blue table!"
NEGATIVE = "blurry, low quality"


# ---------------------------------------------------------------------------------------------
# tokenizers

def bytes_to_unicode():
    """GPT-2/CLIP's reversible map from bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, n = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, [chr(c) for c in chars]))


def learn_bpe(corpus, n_merges):
    """A small CLIP-style BPE: words are lower-cased letter runs, digits or symbol runs; the last
    symbol of a word carries </w>; the most frequent adjacent pair is merged, n_merges times."""
    b2u = bytes_to_unicode()
    words = Counter()
    for w in re.findall(r"[a-z]+|[0-9]|[^\sa-z0-9]+", corpus.lower()):
        sym = [b2u[b] for b in w.encode("utf-8")]
        sym[-1] += "</w>"
        words[tuple(sym)] += 1
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return merges


def write_clip_tokenizer(folder, merges, pad_token):
    """vocab.json + merges.txt + tokenizer_config.json + special_tokens_map.json, as the SD folders
    ship them (the slow-tokenizer file set)."""
    folder.mkdir(parents=True, exist_ok=True)
    bu = list(bytes_to_unicode().values())
    vocab = bu + [b + "</w>" for b in bu]
    for a, b in merges:
        vocab.append(a + b)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": pad_token,
               "unk_token": "<|endoftext|>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    cfg = dict(special, model_max_length=77, do_lower_case=True, errors="replace", add_prefix_space=False,
               tokenizer_class="CLIPTokenizer", clean_up_tokenization_spaces=True)
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2))
    return len(vocab)


def clip_tokenizer(folder):
    cfg = json.loads((folder / "tokenizer_config.json").read_text())
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token=cfg["pad_token"],
                         model_max_length=cfg["model_max_length"])


def t5_tokenizer(folder):
    return T5Tokenizer.from_pretrained(str(folder), extra_ids=0)


def write_t5_tokenizer(folder, work):
    """A tiny SentencePiece Unigram model with T5's special ids (pad 0, eos 1, unk 2, no bos),
    saved as spiece.model; tokenizer.json beside it as transformers converts it."""
    folder.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    text = work / "corpus.txt"
    text.write_text(CORPUS * 4)
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(work / "spiece"), vocab_size=120,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
                                   normalization_rule_name="nmt_nfkc", character_coverage=1.0,
                                   num_threads=1, minloglevel=2)
    shutil.copy(work / "spiece.model", folder / "spiece.model")
    special = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))
    (folder / "tokenizer_config.json").write_text(json.dumps(dict(special, extra_ids=0, model_max_length=512,
                                                                  legacy=True, tokenizer_class="T5Tokenizer"), indent=2))
    tok = t5_tokenizer(folder)
    tok.save_pretrained(str(work / "t5_saved"))
    shutil.copy(work / "t5_saved/tokenizer.json", folder / "tokenizer.json")
    return tok


# ---------------------------------------------------------------------------------------------
# export

def export(module, args, in_names, out_names, dyn, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=17, dynamo=False, do_constant_folding=True)
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    return path


class ClipExport(nn.Module):
    """Returns the text model's outputs in optimum's order and naming."""

    def __init__(self, model, projection, hidden_states):
        super().__init__()
        self.model, self.projection, self.hidden_states = model, projection, hidden_states

    def forward(self, input_ids):
        out = self.model(input_ids=input_ids, output_hidden_states=self.hidden_states)
        first = out.text_embeds if self.projection else out.last_hidden_state
        second = out.last_hidden_state if self.projection else out.pooler_output
        return (first, second) + (tuple(out.hidden_states) if self.hidden_states else ())


def build_clip(folder, vocab_size, hidden, layers, ids_dtype, projection_dim=None, hidden_states=False, seed=0, half=False):
    torch.manual_seed(seed)
    cfg = CLIPTextConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, max_position_embeddings=77,
                         bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=1,
                         projection_dim=projection_dim or hidden, hidden_act="quick_gelu")
    cfg._attn_implementation = "eager"
    model = (CLIPTextModelWithProjection if projection_dim else CLIPTextModel)(cfg).eval()
    if half:
        model = model.half()
    names = (["text_embeds", "last_hidden_state"] if projection_dim else ["last_hidden_state", "pooler_output"])
    if hidden_states:
        names += [f"hidden_states.{i}" for i in range(layers + 1)]
    dyn = {"input_ids": {0: "batch_size"}}
    dyn.update({n: {0: "batch_size"} for n in names})
    dummy = torch.zeros((1, 77), dtype=ids_dtype)
    export(ClipExport(model, projection_dim is not None, hidden_states), (dummy,), ["input_ids"], names, dyn,
           folder / "model.onnx")
    model.config.architectures = ["CLIPTextModelWithProjection" if projection_dim else "CLIPTextModel"]
    (folder / "config.json").write_text(model.config.to_json_string())


class T5Export(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids).last_hidden_state


def build_t5(folder, vocab_size, d_model, seed=0):
    torch.manual_seed(seed)
    cfg = T5Config(vocab_size=vocab_size, d_model=d_model, d_kv=16, d_ff=2 * d_model, num_layers=2, num_heads=4,
                   relative_attention_num_buckets=8, relative_attention_max_distance=32,
                   feed_forward_proj="gated-gelu", is_encoder_decoder=False, use_cache=False,
                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    cfg._attn_implementation = "eager"
    model = T5EncoderModel(cfg).eval()
    export(T5Export(model), (torch.zeros((1, 256), dtype=torch.int64),), ["input_ids"], ["last_hidden_state"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
           folder / "model.onnx")
    model.config.architectures = ["T5EncoderModel"]
    (folder / "config.json").write_text(model.config.to_json_string())


class UNetExport(nn.Module):
    def __init__(self, net, added):
        super().__init__()
        self.net, self.added = net, added

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None):
        if self.added:
            return self.net(sample, timestep, encoder_hidden_states, text_embeds, time_ids)
        return self.net(sample, timestep, encoder_hidden_states)


def timestep_dummy(form):
    if form == "int64[B]":
        return torch.tensor([999], dtype=torch.int64)
    if form == "float[B]":
        return torch.tensor([999.0], dtype=torch.float32)
    if form == "float[]":
        return torch.tensor(999.0, dtype=torch.float32)
    raise ValueError(form)


def to_external_data(path):
    """Moves every initializer into model.onnx_data, as large exports (SDXL, SD3) are shipped."""
    m = onnx.load(str(path))
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + "_data", size_threshold=0)


def build_unet(folder, ctx_dim, seq, timestep_form, add=None, seed=0, external=False, half=False):
    torch.manual_seed(seed)
    net = nets.TinyUNet(4, 32, ctx_dim, add_embed=add)
    # keep the random network's output near unit scale so the sampled latents stay finite
    with torch.no_grad():
        net.conv_out.weight.mul_(0.5)
    args = [torch.randn(1, 4, 8, 8), timestep_dummy(timestep_form), torch.randn(1, seq, ctx_dim)]
    names = ["sample", "timestep", "encoder_hidden_states"]
    dyn = {"sample": {0: "batch_size", 2: "height", 3: "width"}, "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
           "out_sample": {0: "batch_size", 2: "height", 3: "width"}}
    if timestep_form != "float[]":
        dyn["timestep"] = {0: "steps"}
    if add is not None:
        per, proj, k = add
        args += [torch.randn(1, proj), torch.randn(1, k)]
        names += ["text_embeds", "time_ids"]
        dyn.update({"text_embeds": {0: "batch_size"}, "time_ids": {0: "batch_size"}})
    module = UNetExport(net, add is not None)
    if half:
        module = module.half()
        args = [a.half() if a.is_floating_point() else a for a in args]
    export(module, tuple(args), names, ["out_sample"], dyn, folder / "model.onnx")
    if external:
        to_external_data(folder / "model.onnx")
    cfg = {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.0", "in_channels": 4, "out_channels": 4,
           "sample_size": 8, "cross_attention_dim": ctx_dim, "block_out_channels": [32], "attention_head_dim": 16,
           "norm_num_groups": 8, "layers_per_block": 1, "flip_sin_to_cos": True, "freq_shift": 0}
    if add is not None:
        cfg.update({"addition_embed_type": "text_time", "addition_time_embed_dim": add[0],
                    "projection_class_embeddings_input_dim": add[1] + add[0] * add[2]})
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))


def build_mmdit(folder, joint_dim, pooled_dim, seq, seed=0):
    torch.manual_seed(seed)
    net = nets.TinyMMDiT(16, 32, joint_dim, pooled_dim)
    args = (torch.randn(1, 16, 8, 8), torch.randn(1, seq, joint_dim), torch.randn(1, pooled_dim), torch.tensor([999.0]))
    names = ["hidden_states", "encoder_hidden_states", "pooled_projections", "timestep"]
    dyn = {"hidden_states": {0: "batch_size", 2: "height", 3: "width"},
           "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"}, "pooled_projections": {0: "batch_size"},
           "timestep": {0: "steps"}, "out_hidden_states": {0: "batch_size", 2: "height", 3: "width"}}
    export(net, args, names, ["out_hidden_states"], dyn, folder / "model.onnx")
    cfg = {"_class_name": "SD3Transformer2DModel", "_diffusers_version": "0.30.0", "in_channels": 16, "out_channels": 16,
           "sample_size": 8, "patch_size": 2, "num_layers": 1, "attention_head_dim": 16, "num_attention_heads": 2,
           "joint_attention_dim": joint_dim, "caption_projection_dim": 32, "pooled_projection_dim": pooled_dim,
           "pos_embed_max_size": 8}
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))


def build_vae(root, lat_ch, scaling, shift=None, quant=True, seed=0, half=False):
    torch.manual_seed(seed)
    dec, enc = nets.TinyVaeDecoder(lat_ch, quant=quant), nets.TinyVaeEncoder(lat_ch, quant=quant)
    dt = torch.float16 if half else torch.float32
    if half:
        dec, enc = dec.half(), enc.half()
    export(dec, (torch.randn(1, lat_ch, 8, 8, dtype=dt),), ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch_size", 2: "height", 3: "width"}, "sample": {0: "batch_size", 2: "height", 3: "width"}},
           root / "vae_decoder/model.onnx")
    export(enc, (torch.randn(1, 3, 64, 64, dtype=dt),), ["sample"], ["latent_parameters"],
           {"sample": {0: "batch_size", 2: "height", 3: "width"}, "latent_parameters": {0: "batch_size", 2: "height", 3: "width"}},
           root / "vae_encoder/model.onnx")
    cfg = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0", "in_channels": 3, "out_channels": 3,
           "latent_channels": lat_ch, "sample_size": 64, "scaling_factor": scaling, "block_out_channels": [16, 16, 16, 16],
           "use_quant_conv": quant, "use_post_quant_conv": quant, "force_upcast": True}
    if shift is not None:
        cfg["shift_factor"] = shift
    for part in ("vae_decoder", "vae_encoder"):
        (root / part / "config.json").write_text(json.dumps(cfg, indent=2))


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


SCHED_SD = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
            "steps_offset": 1, "clip_sample": False, "set_alpha_to_one": False, "trained_betas": None,
            "interpolation_type": "linear", "use_karras_sigmas": False, "final_sigmas_type": "zero"}


def onnx_component(name):
    return ["diffusers", "OnnxRuntimeModel"]


def build_sd(root, merges, version, half=False):
    """SD 1.x (pad <|endoftext|>, int32 ids, int64 [B] timestep, epsilon, leading) or SD 2.x
    (pad '!', int64 ids, float [B] timestep, v-prediction, trailing)."""
    v1 = version == 1
    n = write_clip_tokenizer(root / "tokenizer", merges, "<|endoftext|>" if v1 else "!")
    build_clip(root / "text_encoder", n, 32, 2, torch.int32 if v1 else torch.int64, seed=1, half=half)
    build_unet(root / "unet", 32, 77, "int64[B]" if v1 else "float[B]", seed=2, half=half)
    build_vae(root, 4, 0.18215, seed=3, half=half)
    sched = dict(SCHED_SD, _class_name="EulerDiscreteScheduler" if v1 else "DPMSolverMultistepScheduler",
                 _diffusers_version="0.30.0", prediction_type="epsilon" if v1 else "v_prediction",
                 timestep_spacing="leading" if v1 else "trailing")
    if not v1:
        sched.update(algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint", lower_order_final=True)
    write_json(root / "scheduler/scheduler_config.json", sched)
    cls = "OnnxStableDiffusionPipeline" if v1 else "ORTStableDiffusionPipeline"
    write_json(root / "model_index.json", {
        "_class_name": cls, "_diffusers_version": "0.30.0", "requires_safety_checker": False,
        "scheduler": ["diffusers", sched["_class_name"]], "text_encoder": onnx_component("text_encoder"),
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": onnx_component("unet"),
        "vae_decoder": onnx_component("vae_decoder"), "vae_encoder": onnx_component("vae_encoder"),
        "safety_checker": [None, None], "feature_extractor": [None, None]})


def build_sdxl(root, merges, refiner):
    """SDXL base (two CLIPs, penultimate states 32+48 wide, pooled 40, 6 time ids, float scalar
    timestep) or refiner (only the second CLIP, 5 time ids with the aesthetic score, int64 [B])."""
    sched = dict(SCHED_SD, _class_name="EulerDiscreteScheduler", _diffusers_version="0.30.0",
                 prediction_type="epsilon", timestep_spacing="leading")
    write_json(root / "scheduler/scheduler_config.json", sched)
    n = write_clip_tokenizer(root / "tokenizer_2", merges, "!")
    build_clip(root / "text_encoder_2", n, 48, 3, torch.int64, projection_dim=40, hidden_states=True, seed=11)
    index = {"_diffusers_version": "0.30.0", "scheduler": ["diffusers", "EulerDiscreteScheduler"],
             "text_encoder_2": onnx_component("text_encoder_2"), "tokenizer_2": ["transformers", "CLIPTokenizer"],
             "unet": onnx_component("unet"), "vae_decoder": onnx_component("vae_decoder"),
             "vae_encoder": onnx_component("vae_encoder")}
    if refiner:
        build_unet(root / "unet", 48, 77, "int64[B]", add=(8, 40, 5), seed=13, external=True)
        index.update(_class_name="ORTStableDiffusionXLImg2ImgPipeline", requires_aesthetics_score=True,
                     force_zeros_for_empty_prompt=False, text_encoder=[None, None], tokenizer=[None, None])
    else:
        write_clip_tokenizer(root / "tokenizer", merges, "<|endoftext|>")
        build_clip(root / "text_encoder", n, 32, 2, torch.int64, hidden_states=True, seed=10)
        build_unet(root / "unet", 80, 77, "float[]", add=(8, 40, 6), seed=12)
        index.update(_class_name="ORTStableDiffusionXLPipeline", force_zeros_for_empty_prompt=True,
                     text_encoder=onnx_component("text_encoder"), tokenizer=["transformers", "CLIPTokenizer"])
    build_vae(root, 4, 0.13025, seed=14)
    write_json(root / "model_index.json", index)


def build_sd3(root, merges, work):
    n = write_clip_tokenizer(root / "tokenizer", merges, "<|endoftext|>")
    write_clip_tokenizer(root / "tokenizer_2", merges, "!")
    build_clip(root / "text_encoder", n, 16, 2, torch.int64, projection_dim=16, hidden_states=True, seed=20)
    build_clip(root / "text_encoder_2", n, 24, 3, torch.int64, projection_dim=24, hidden_states=True, seed=21)
    t5 = write_t5_tokenizer(root / "tokenizer_3", work)
    build_t5(root / "text_encoder_3", len(t5), 64, seed=22)
    build_mmdit(root / "transformer", 64, 40, 77 + 256, seed=23)
    build_vae(root, 16, 1.5305, shift=0.0609, quant=False, seed=24)
    write_json(root / "scheduler/scheduler_config.json", {
        "_class_name": "FlowMatchEulerDiscreteScheduler", "_diffusers_version": "0.30.0",
        "num_train_timesteps": 1000, "shift": 3.0})
    write_json(root / "model_index.json", {
        "_class_name": "ORTStableDiffusion3Pipeline", "_diffusers_version": "0.30.0",
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
        "text_encoder": onnx_component("text_encoder"), "text_encoder_2": onnx_component("text_encoder_2"),
        "text_encoder_3": onnx_component("text_encoder_3"), "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"], "tokenizer_3": ["transformers", "T5TokenizerFast"],
        "transformer": onnx_component("transformer"), "vae_decoder": onnx_component("vae_decoder"),
        "vae_encoder": onnx_component("vae_encoder")})


# ---------------------------------------------------------------------------------------------
# reference pipelines (onnxruntime on the exported graphs, the schedulers of schedulers.py)

class Session:
    def __init__(self, path):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i for i in self.s.get_inputs()}
        self.outputs = [o.name for o in self.s.get_outputs()]

    def __call__(self, **feeds):
        cast = {}
        for k, v in feeds.items():
            want = self.inputs[k].type
            cast[k] = v.astype(np.float16) if want == "tensor(float16)" else v
        out = self.s.run(None, cast)
        return {k: (v.astype(np.float32) if v.dtype == np.float16 else v) for k, v in zip(self.outputs, out)}


def ids_dtype(sess):
    return np.int32 if sess.inputs["input_ids"].type == "tensor(int32)" else np.int64


def clip_encode(tok, sess, text):
    ids = np.array([tok(text, padding="max_length", max_length=77, truncation=True).input_ids], dtype=ids_dtype(sess))
    return ids, sess(input_ids=ids)


def timestep_feed(sess, name, t, batch):
    info = sess.inputs[name]
    dt = np.int64 if info.type == "tensor(int64)" else np.float32
    if len(info.shape) == 0:
        return np.array(t, dtype=dt)
    return np.full((batch,), t, dtype=dt)


class Recorder:
    """Collects one case: metadata in JSON, arrays as .npy."""

    def __init__(self, name):
        self.name, self.meta, self.arrays = name, {"case": name}, {}

    def arr(self, key, value):
        self.arrays[key] = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        return value

    def save(self):
        REF.mkdir(parents=True, exist_ok=True)
        files = {}
        for k, v in self.arrays.items():
            fn = f"{self.name}.{k}.npy"
            np.save(REF / fn, v)
            files[k] = fn
        self.meta["arrays"] = files
        write_json(REF / f"{self.name}.json", self.meta)


def denoise_loop(rec, stepper, sched, x, indices, model_fn, guidance, tag):
    """Runs the scheduler over the given step indices; records the latents before every step."""
    before = []
    fed = []
    for i in indices:
        before.append(x.copy())
        out_u, out_c, t_fed = model_fn(stepper.model_input(x, i), i)
        fed.append(t_fed)
        out = out_u + guidance * (out_c - out_u)
        x = stepper.step(out.astype(np.float64), i, x.astype(np.float64)).astype(np.float32)
    rec.arr(f"{tag}latents_per_step", np.stack(before))
    rec.meta[f"{tag}timesteps_fed"] = fed
    return x


def decode(rec, root, latents, vae_cfg):
    dec = Session(root / "vae_decoder/model.onnx")
    z = latents / vae_cfg["scaling_factor"] + vae_cfg.get("shift_factor", 0.0)
    img = dec(latent_sample=z.astype(np.float32))["sample"]
    rec.arr("pixels", np.clip(img / 2 + 0.5, 0, 1))


def vae_config(root):
    return json.loads((root / "vae_decoder/config.json").read_text())


def run_sd(root, name, sampler, steps, guidance, negative, seed, config_overrides=None):
    rec = Recorder(name)
    cfg = json.loads((root / "scheduler/scheduler_config.json").read_text())
    cfg.update(config_overrides or {})
    tok = clip_tokenizer(root / "tokenizer")
    te = Session(root / "text_encoder/model.onnx")
    ids_c, out_c = clip_encode(tok, te, PROMPT)
    ids_u, out_u = clip_encode(tok, te, negative if negative is not None else "")
    emb = np.concatenate([out_u["last_hidden_state"], out_c["last_hidden_state"]])
    unet = Session(root / "unet/model.onnx")
    sched = S.SCHEDULES[sampler](cfg, steps)
    stepper = S.STEPPERS[sampler](cfg, sched)
    noise = np.random.default_rng(seed).standard_normal((1, 4, 8, 8)).astype(np.float32)
    x = stepper.init(noise).astype(np.float32)

    def model(xin, i):
        t = sched["timesteps"][i]
        feed = timestep_feed(unet, "timestep", t, 2)
        out = unet(sample=np.concatenate([xin, xin]).astype(np.float32), timestep=feed, encoder_hidden_states=emb)["out_sample"]
        return out[:1], out[1:], float(feed.reshape(-1)[0])

    rec.meta.update(model=root.name, sampler=sampler, steps=steps, guidance=guidance, prompt=PROMPT,
                    negative_prompt=negative, seed=seed, scheduler_config=cfg,
                    timesteps=[float(t) for t in sched["timesteps"]], sigmas=[float(s) for s in sched["sigmas"]],
                    input_ids={"tokenizer": [ids_u[0].tolist(), ids_c[0].tolist()]})
    rec.arr("noise", noise)
    rec.arr("initial_latents", x)
    rec.arr("prompt_embeds", emb)
    x = denoise_loop(rec, stepper, sched, x, range(steps), model, guidance, "")
    rec.arr("final_latents", x)
    decode(rec, root, x, vae_config(root))
    rec.save()


def sdxl_embeddings(root, prompt, negative, encoders, clip_skip=None):
    """Penultimate hidden states of each encoder, concatenated; pooled text_embeds of the last one;
    zeros for the negative only when no negative prompt is given and the pipeline forces zeros."""
    index = json.loads((root / "model_index.json").read_text())
    ids, pos, neg = {}, [], []
    pooled_c = pooled_u = None
    for tok_name, te_name in encoders:
        tok = clip_tokenizer(root / tok_name)
        te = Session(root / te_name / "model.onnx")
        layers = sum(1 for o in te.outputs if o.startswith("hidden_states."))
        # hidden_states[-2], or [-(clip_skip + 2)]; the negative always takes [-2] in diffusers
        penult = f"hidden_states.{layers - 2}"
        chosen = f"hidden_states.{layers - (clip_skip + 2)}" if clip_skip else penult
        ic, oc = clip_encode(tok, te, prompt)
        pos.append(oc[chosen])
        ids[tok_name] = [None, ic[0].tolist()]
        if "text_embeds" in oc:
            pooled_c = oc["text_embeds"]
        zero = negative is None and index.get("force_zeros_for_empty_prompt", False)
        if not zero:
            iu, ou = clip_encode(tok, te, negative or "")
            neg.append(ou[penult])
            ids[tok_name][0] = iu[0].tolist()
            if "text_embeds" in ou:
                pooled_u = ou["text_embeds"]
    pos = np.concatenate(pos, axis=-1)
    if neg:
        neg = np.concatenate(neg, axis=-1)
    else:
        neg, pooled_u = np.zeros_like(pos), np.zeros_like(pooled_c)
    return np.concatenate([neg, pos]), np.concatenate([pooled_u, pooled_c]), ids


def run_sdxl(base, refiner, name, sampler, steps, guidance, negative, seed, denoising_end=0.8, clip_skip=None):
    rec = Recorder(name)
    cfg = json.loads((base / "scheduler/scheduler_config.json").read_text())
    sched = S.SCHEDULES[sampler](cfg, steps)
    noise = np.random.default_rng(seed).standard_normal((1, 4, 8, 8)).astype(np.float32)
    T = cfg["num_train_timesteps"]
    if refiner is not None:
        cutoff = int(round(T - denoising_end * T))
        n_base = sum(1 for t in sched["timesteps"] if t >= cutoff)
    else:
        n_base = steps
    size = (64, 64)
    stages = [("base", base, [("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")], range(n_base),
               list(size) + [0, 0] + list(size), None)]
    if refiner is not None:
        stages.append(("refiner", refiner, [("tokenizer_2", "text_encoder_2")], range(n_base, steps),
                       list(size) + [0, 0] + [6.0], list(size) + [0, 0] + [2.5]))
    rec.meta.update(model=base.name, refiner=refiner.name if refiner else None, sampler=sampler, steps=steps,
                    guidance=guidance, prompt=PROMPT, negative_prompt=negative, seed=seed, scheduler_config=cfg,
                    denoising_end=denoising_end if refiner else None, base_steps=n_base, clip_skip=clip_skip,
                    timesteps=[float(t) for t in sched["timesteps"]], sigmas=[float(s) for s in sched["sigmas"]])
    rec.arr("noise", noise)
    x = None
    for tag, root, encoders, indices, tid, tid_neg in stages:
        emb, pooled, ids = sdxl_embeddings(root, PROMPT, negative, encoders, clip_skip)
        time_ids = np.array([tid_neg if tid_neg is not None else tid, tid], dtype=np.float32)
        stepper = S.STEPPERS[sampler](cfg, sched)  # a fresh scheduler per pipeline, as diffusers has
        if x is None:
            x = stepper.init(noise).astype(np.float32)
            rec.arr("initial_latents", x)
        unet = Session(root / "unet/model.onnx")

        def model(xin, i, unet=unet, emb=emb, pooled=pooled, time_ids=time_ids):
            t = sched["timesteps"][i]
            feed = timestep_feed(unet, "timestep", t, 2)
            out = unet(sample=np.concatenate([xin, xin]).astype(np.float32), timestep=feed,
                       encoder_hidden_states=emb.astype(np.float32), text_embeds=pooled.astype(np.float32),
                       time_ids=time_ids)["out_sample"]
            return out[:1], out[1:], float(feed.reshape(-1)[0])

        rec.meta[f"{tag}_input_ids"] = ids
        rec.meta[f"{tag}_time_ids"] = time_ids.tolist()
        rec.arr(f"{tag}_prompt_embeds", emb)
        rec.arr(f"{tag}_pooled", pooled)
        x = denoise_loop(rec, stepper, sched, x, indices, model, guidance, f"{tag}_")
    rec.arr("final_latents", x)
    decode(rec, refiner if refiner is not None else base, x, vae_config(refiner if refiner is not None else base))
    rec.save()


def run_sd3(root, name, steps, guidance, negative, seed, use_t5=True):
    rec = Recorder(name)
    cfg = json.loads((root / "scheduler/scheduler_config.json").read_text())
    tcfg = json.loads((root / "transformer/config.json").read_text())
    max_seq = 256
    ids = {}

    def encode(text):
        clip_states, pooled = [], []
        for tok_name, te_name in (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")):
            tok = clip_tokenizer(root / tok_name)
            te = Session(root / te_name / "model.onnx")
            layers = sum(1 for o in te.outputs if o.startswith("hidden_states."))
            i, o = clip_encode(tok, te, text)
            ids.setdefault(tok_name, []).append(i[0].tolist())
            clip_states.append(o[f"hidden_states.{layers - 2}"])
            pooled.append(o["text_embeds"])
        clip = np.concatenate(clip_states, axis=-1)
        clip = np.pad(clip, ((0, 0), (0, 0), (0, tcfg["joint_attention_dim"] - clip.shape[-1])))
        if use_t5:
            t5tok = t5_tokenizer(root / "tokenizer_3")
            t5ids = np.array([t5tok(text, padding="max_length", max_length=max_seq, truncation=True,
                                    add_special_tokens=True).input_ids], dtype=np.int64)
            ids.setdefault("tokenizer_3", []).append(t5ids[0].tolist())
            t5 = Session(root / "text_encoder_3/model.onnx")(input_ids=t5ids)["last_hidden_state"]
        else:
            t5 = np.zeros((1, max_seq, tcfg["joint_attention_dim"]), dtype=np.float32)
        return np.concatenate([clip, t5], axis=-2), np.concatenate(pooled, axis=-1)

    emb_u, pool_u = encode(negative or "")
    emb_c, pool_c = encode(PROMPT)
    emb, pooled = np.concatenate([emb_u, emb_c]), np.concatenate([pool_u, pool_c])
    tr = Session(root / "transformer/model.onnx")
    sched = S.flow_schedule(cfg, steps)
    stepper = S.FlowEuler(cfg, sched)
    noise = np.random.default_rng(seed).standard_normal((1, 16, 8, 8)).astype(np.float32)
    x = stepper.init(noise).astype(np.float32)

    def model(xin, i):
        t = sched["timesteps"][i]
        feed = timestep_feed(tr, "timestep", t, 2)
        out = tr(hidden_states=np.concatenate([xin, xin]).astype(np.float32), encoder_hidden_states=emb.astype(np.float32),
                 pooled_projections=pooled.astype(np.float32), timestep=feed)["out_hidden_states"]
        return out[:1], out[1:], float(feed.reshape(-1)[0])

    rec.meta.update(model=root.name, sampler="flow_euler", steps=steps, guidance=guidance, prompt=PROMPT,
                    negative_prompt=negative, seed=seed, scheduler_config=cfg, t5=use_t5, max_sequence_length=max_seq,
                    timesteps=[float(t) for t in sched["timesteps"]], sigmas=[float(s) for s in sched["sigmas"]],
                    input_ids={k: v for k, v in ids.items()})
    rec.arr("noise", noise)
    rec.arr("initial_latents", x)
    rec.arr("prompt_embeds", emb)
    rec.arr("pooled", pooled)
    x = denoise_loop(rec, stepper, sched, x, range(steps), model, guidance, "")
    rec.arr("final_latents", x)
    decode(rec, root, x, vae_config(root))
    rec.save()


def vae_encode_reference(root, name, seed):
    """The VAE encoder on a fixed image: its raw output and the latents img2img starts from
    (mean, shifted and scaled: (mean - shift_factor) * scaling_factor)."""
    rec = Recorder(name)
    cfg = vae_config(root)
    image = np.random.default_rng(seed).uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)
    enc = Session(root / "vae_encoder/model.onnx")
    params = enc(sample=(image * 2 - 1).astype(np.float32))["latent_parameters"]
    c = params.shape[1] // 2
    mean = params[:, :c]
    rec.meta.update(model=root.name, scaling_factor=cfg["scaling_factor"], shift_factor=cfg.get("shift_factor", 0.0))
    rec.arr("image", image)
    rec.arr("latent_parameters", params)
    rec.arr("latents", (mean - cfg.get("shift_factor", 0.0)) * cfg["scaling_factor"])
    rec.save()


def schedule_references():
    """Timesteps and sigmas of each scheduler for a grid of configurations (for ediff-core)."""
    cases = []
    for sampler in ("euler", "dpmpp_2m"):
        for spacing in ("leading", "trailing", "linspace"):
            for karras in (False, True):
                for beta in ("scaled_linear", "linear"):
                    for steps in (1, 6, 10, 25):
                        if karras and steps == 1:
                            continue
                        cfg = dict(SCHED_SD, timestep_spacing=spacing, use_karras_sigmas=karras, beta_schedule=beta)
                        if beta == "linear":
                            cfg.update(beta_start=0.0001, beta_end=0.02, steps_offset=0)
                        s = S.SCHEDULES[sampler](cfg, steps)
                        case = {"scheduler": sampler, "config": cfg, "steps": steps,
                                "timesteps": [float(t) for t in s["timesteps"]], "sigmas": [float(v) for v in s["sigmas"]]}
                        if sampler == "euler":
                            case["init_noise_sigma"] = S.euler_init_noise_sigma(cfg, s["sigmas"])
                        cases.append(case)
    for shift in (1.0, 3.0):
        for steps in (1, 6, 28):
            cfg = {"num_train_timesteps": 1000, "shift": shift}
            s = S.flow_schedule(cfg, steps)
            cases.append({"scheduler": "flow_euler", "config": cfg, "steps": steps,
                          "timesteps": [float(t) for t in s["timesteps"]], "sigmas": [float(v) for v in s["sigmas"]]})
    for beta in ("scaled_linear", "linear"):
        cfg = dict(SCHED_SD, beta_schedule=beta) if beta == "scaled_linear" else dict(SCHED_SD, beta_schedule=beta, beta_start=0.0001, beta_end=0.02)
        table = S.table_sigmas(cfg)
        cases.append({"scheduler": "table", "config": cfg, "sigmas": [float(v) for v in table]})
    write_json(CORE_REF / "schedules.json", {"cases": cases})
    return len(cases)


def tokenizer_references(roots):
    """Prompts with traps: the '!' pad token of SD2/SDXL-2, punctuation, empty, long."""
    prompts = ["", PROMPT, "hello!world", "a cat! a dog!!", "A  Watercolor   FOX, in the snow.",
               "two birds flying over the mountains at dawn " * 3, "caf\u00e9 na\u00efve"]
    out = []
    for root, tok_name in roots:
        folder = root / tok_name
        if (folder / "spiece.model").exists():
            tok = t5_tokenizer(folder)
            sp = spm.SentencePieceProcessor(model_file=str(folder / "spiece.model"))
            for p in prompts:
                ids = tok(p, add_special_tokens=True).input_ids
                out.append({"folder": f"{root.name}/{tok_name}", "prompt": p, "ids": ids,
                            "sentencepiece_ids": sp.encode(p) + [1]})
        else:
            tok = clip_tokenizer(folder)
            for p in prompts:
                out.append({"folder": f"{root.name}/{tok_name}", "prompt": p,
                            "ids": tok(p, padding="max_length", max_length=77, truncation=True).input_ids})
    write_json(REF / "tokenizers.json", {"cases": out})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=str(Path(__file__).resolve().parent / "work"))
    ap.add_argument("--realistic", choices=["sd15"], help="instead of the fixtures: one folder at the family's real"
                    " size with random weights, for benchmarks (several GB; never committed)")
    ap.add_argument("--out", help="with --realistic: the folder to write (default: <work>/realistic-sd15)")
    args = ap.parse_args()
    if args.realistic:
        import realistic
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        realistic.build_sd15(args.out or Path(args.work) / f"realistic-{args.realistic}")
        return
    torch.set_num_threads(1)
    work = Path(args.work)
    if FIX.exists():
        shutil.rmtree(FIX)
    merges = learn_bpe(CORPUS, 300)
    sd15, sd2, xl, xlr, sd3, sd15h = (FIX / n for n in ("sd15", "sd2", "sdxl-base", "sdxl-refiner", "sd3", "sd15-fp16"))
    build_sd(sd15, merges, 1)
    build_sd(sd2, merges, 2)
    build_sd(sd15h, merges, 1, half=True)
    build_sdxl(xl, merges, refiner=False)
    build_sdxl(xlr, merges, refiner=True)
    build_sd3(sd3, merges, work)
    print("schedule cases:", schedule_references())
    tokenizer_references([(sd15, "tokenizer"), (sd2, "tokenizer"), (sd3, "tokenizer_3")])
    run_sd(sd15, "sd15_euler", "euler", 6, 7.5, NEGATIVE, 1)
    run_sd(sd15, "sd15_dpmpp2m", "dpmpp_2m", 6, 7.5, None, 2)
    run_sd(sd15h, "sd15_fp16_euler", "euler", 6, 7.5, NEGATIVE, 1)
    run_sd(sd2, "sd2_v_dpmpp2m_karras", "dpmpp_2m", 6, 5.0, NEGATIVE, 3, {"use_karras_sigmas": True})
    run_sd(sd2, "sd2_v_euler", "euler", 6, 5.0, None, 4)
    # fractional timesteps: a float graph gets them as they are, an int64 graph truncated
    run_sd(sd2, "sd2_v_euler_linspace_karras", "euler", 6, 5.0, NEGATIVE, 12,
           {"timestep_spacing": "linspace", "use_karras_sigmas": True})
    run_sd(sd15, "sd15_euler_linspace", "euler", 6, 7.5, None, 13, {"timestep_spacing": "linspace"})
    run_sdxl(xl, xlr, "sdxl_refiner_euler", "euler", 10, 5.0, None, 5)
    run_sdxl(xl, xlr, "sdxl_refiner_dpmpp2m", "dpmpp_2m", 10, 5.0, NEGATIVE, 6)
    run_sdxl(xl, None, "sdxl_base_empty_negative", "euler", 6, 5.0, "", 7)
    run_sdxl(xl, None, "sdxl_base_clip_skip1", "euler", 4, 5.0, NEGATIVE, 10, clip_skip=1)
    for root in (sd15, sd3):
        vae_encode_reference(root, f"{root.name.replace('-', '_')}_vae_encode", 11)
    run_sd3(sd3, "sd3_t5", 6, 4.0, None, 8, use_t5=True)
    run_sd3(sd3, "sd3_no_t5", 6, 4.0, NEGATIVE, 9, use_t5=False)
    total = sum(f.stat().st_size for f in FIX.rglob("*") if f.is_file())
    print(f"fixtures: {total / 1e6:.2f} MB in {FIX}")


if __name__ == "__main__":
    main()
