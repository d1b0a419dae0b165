"""A diffusers ONNX folder at SD 1.5's real size with random weights, for benchmarks only (several GB:
never committed; written under work/, which git ignores):

    tools/public_models/build.sh --realistic sd15 [--out DIR]

- text_encoder: transformers' CLIPTextModel with CLIP ViT-L/14's text configuration (12 layers,
  768 wide, 12 heads, 77 positions, vocab 49408), int32 input_ids, last_hidden_state + pooler_output;
- unet: nets.SD15UNet (SD 1.5's published U-Net configuration, 859.5M parameters), int64 [B] timestep,
  weights in model.onnx_data as large exports ship them;
- vae_decoder: nets.SDVaeDecoder (SD's published decoder widths, 49.5M parameters);
- tokenizer: the fixtures' small BPE (its ids fit the 49408-row embedding table);
- scheduler: EulerDiscreteScheduler, leading spacing, as SD 1.5 ships.
The weights are random, so images are noise: this measures time and memory, not quality.
"""
import json
import time
from pathlib import Path

import onnx
import torch
from transformers import CLIPTextConfig, CLIPTextModel

import build as B
import nets


def _external(path):
    """Every initializer into <name>_data (one file), as optimum writes models over 2 GB."""
    m = onnx.load(str(path))
    for f in path.parent.iterdir():
        if f != path:
            f.unlink()
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + "_data", size_threshold=1024)


def build_sd15(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    merges = B.learn_bpe(B.CORPUS, 300)
    n = B.write_clip_tokenizer(out / "tokenizer", merges, "<|endoftext|>")
    torch.manual_seed(1)
    cfg = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                         num_attention_heads=12, max_position_embeddings=77, bos_token_id=n - 2, eos_token_id=n - 1,
                         pad_token_id=n - 1, projection_dim=768, hidden_act="quick_gelu")
    cfg._attn_implementation = "eager"
    clip = CLIPTextModel(cfg).eval()
    B.export(B.ClipExport(clip, False, False), (torch.zeros((1, 77), dtype=torch.int32),), ["input_ids"],
             ["last_hidden_state", "pooler_output"],
             {"input_ids": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}},
             out / "text_encoder/model.onnx")
    clip.config.architectures = ["CLIPTextModel"]
    (out / "text_encoder/config.json").write_text(clip.config.to_json_string())
    print(f"text_encoder {time.time() - t0:.0f} s", flush=True)

    torch.manual_seed(2)
    unet = nets.SD15UNet().eval()
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.05)  # keep the random network's output near unit scale
    (out / "unet").mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(B.UNetExport(unet, False), (torch.randn(1, 4, 64, 64), torch.tensor([999], dtype=torch.int64),
                                                     torch.randn(1, 77, 768)),
                          str(out / "unet/model.onnx"), input_names=["sample", "timestep", "encoder_hidden_states"],
                          output_names=["out_sample"], opset_version=17, dynamo=False, do_constant_folding=True,
                          dynamic_axes={"sample": {0: "batch_size", 2: "height", 3: "width"}, "timestep": {0: "steps"},
                                        "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
                                        "out_sample": {0: "batch_size", 2: "height", 3: "width"}})
    del unet
    _external(out / "unet/model.onnx")
    (out / "unet/config.json").write_text(json.dumps({
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.0", "in_channels": 4, "out_channels": 4,
        "sample_size": 64, "cross_attention_dim": 768, "block_out_channels": [320, 640, 1280, 1280],
        "attention_head_dim": 8, "norm_num_groups": 32, "layers_per_block": 2, "flip_sin_to_cos": True,
        "freq_shift": 0}, indent=2))
    print(f"unet {time.time() - t0:.0f} s", flush=True)

    torch.manual_seed(3)
    vae = nets.SDVaeDecoder().eval()
    B.export(vae, (torch.randn(1, 4, 64, 64),), ["latent_sample"], ["sample"],
             {"latent_sample": {0: "batch_size", 2: "height", 3: "width"}, "sample": {0: "batch_size", 2: "height", 3: "width"}},
             out / "vae_decoder/model.onnx")
    (out / "vae_decoder/config.json").write_text(json.dumps({
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0", "in_channels": 3, "out_channels": 3,
        "latent_channels": 4, "sample_size": 512, "scaling_factor": 0.18215,
        "block_out_channels": [128, 256, 512, 512]}, indent=2))
    sched = dict(B.SCHED_SD, _class_name="EulerDiscreteScheduler", _diffusers_version="0.30.0",
                 prediction_type="epsilon", timestep_spacing="leading")
    B.write_json(out / "scheduler/scheduler_config.json", sched)
    B.write_json(out / "model_index.json", {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.30.0", "requires_safety_checker": False,
        "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": B.onnx_component("text_encoder"),
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": B.onnx_component("unet"),
        "vae_decoder": B.onnx_component("vae_decoder"), "safety_checker": [None, None], "feature_extractor": [None, None]})
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"realistic sd15: {total / 1e9:.2f} GB in {out} ({time.time() - t0:.0f} s)")
