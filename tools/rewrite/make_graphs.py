"""Small attention graphs for the attention-bias rewrite tests (dev.ediff.onnx.rewrite), with
PyTorch references of the same modules with eDiff-I's paint-with-words bias added.

Each net: conv in, self-attention and cross-attention at the input resolution, a stride-2 conv,
cross-attention and self-attention at half resolution, nearest upsampling, conv out. The three
styles are the score subgraphs exporters produce:
  classic  [B,h,N,d] @ [B,h,d,T] -> Div(sqrt d) -> Softmax          (PyTorch 1.x / diffusers AttnProcessor)
  sdpa     F.scaled_dot_product_attention: Mul(Q, s), Mul(K^T, s) -> MatMul -> Softmax (PyTorch 2)
  batched  heads folded into the batch: [B*h,N,d] @ [B*h,d,T] -> Mul(scale) -> Softmax (baddbmm style)
The bias formula (tools/mini/mini2/unet.py): logits' = QK^T + bias * log(1 + sigma) * max(QK^T)
before the scale, max per sample and head over all queries and keys, bias [B, H*W, T] at the
input resolution average-pooled to the layer's. Also writes `fused_mha.onnx`, a cross-attention as
one com.microsoft.MultiHeadAttention node (the rewrite feeds its attention_bias input; reference in
numpy), and `fused_mha_projection_bias.onnx` (MHA with its packed projection-bias input, refused).

Run: tools/rewrite/make_graphs.sh (writes ediff-onnx/src/test/resources/rewrite/).
"""
import json
import math
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper
from torch import nn
import torch.nn.functional as F

OUT = pathlib.Path(__file__).resolve().parents[2] / "ediff-onnx/src/test/resources/rewrite"
B, C, H, W, T, D, HEADS = 2, 4, 8, 8, 6, 12, 2


class Attn(nn.Module):
    def __init__(self, style, dim, ctx_dim, heads):
        super().__init__()
        self.style, self.heads, self.hd = style, heads, dim // heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx_dim, dim, bias=False)
        self.to_v = nn.Linear(ctx_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, ctx=None, pww=None, ls=None):
        """x [B,N,C]; pww [B,N,T] at this resolution or None; ls = log(1 + sigma) [B]."""
        ctx = x if ctx is None else ctx
        b, n, _ = x.shape
        h, d = self.heads, self.hd
        q, k, v = self.to_q(x), self.to_k(ctx), self.to_v(ctx)
        if self.style == "batched":
            fold = lambda t: t.reshape(b, t.shape[1], h, d).permute(0, 2, 1, 3).reshape(b * h, t.shape[1], d)
            q, k, v = fold(q), fold(k), fold(v)
        else:
            split = lambda t: t.reshape(b, t.shape[1], h, d).transpose(1, 2)
            q, k, v = split(q), split(k), split(v)
        if pww is None and self.style == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            qk = q @ k.transpose(-1, -2)
            if pww is not None:
                m = qk.amax(dim=(-2, -1), keepdim=True)
                bias = pww[:, None] * ls[:, None, None, None]
                if self.style == "batched":
                    bias = bias.expand(b, h, n, k.shape[1]).reshape(b * h, n, k.shape[1])
                qk = qk + bias * m
            w = torch.softmax(qk / math.sqrt(d) if self.style != "batched" else qk * (1.0 / math.sqrt(d)), dim=-1)
            o = w @ v
        if self.style == "batched":
            o = o.reshape(b, h, n, d).permute(0, 2, 1, 3).reshape(b, n, h * d)
        else:
            o = o.transpose(1, 2).reshape(b, n, h * d)
        return self.to_out(o)


class Net(nn.Module):
    def __init__(self, style, ch=16):
        super().__init__()
        self.conv_in = nn.Conv2d(C, ch, 3, padding=1)
        self.attn1 = Attn(style, ch, ch, HEADS)          # self, full resolution
        self.attn2 = Attn(style, ch, D, HEADS)           # cross, full resolution
        self.down = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
        self.attn3 = Attn(style, ch, D, HEADS)           # cross, half resolution
        self.attn4 = Attn(style, ch, ch, HEADS)          # self, half resolution
        self.conv_out = nn.Conv2d(2 * ch, C, 3, padding=1)

    def forward(self, sample, encoder_hidden_states, bias=None, sigma=None):
        b, _, hh, ww = sample.shape
        ls = torch.log1p(sigma) if sigma is not None else None
        tok = lambda t: t.flatten(2).transpose(1, 2)
        img = lambda t, h, w: t.transpose(1, 2).reshape(b, -1, h, w)
        x = self.conv_in(sample)
        t = tok(x)
        t = t + self.attn1(t)
        t = t + self.attn2(t, encoder_hidden_states, bias, ls)
        full = img(t, hh, ww)
        y = self.down(full)
        u = tok(y)
        pb = None
        if bias is not None:
            pb = F.avg_pool2d(bias.transpose(1, 2).reshape(b, -1, hh, ww), 2).flatten(2).transpose(1, 2)
        u = u + self.attn3(u, encoder_hidden_states, pb, ls)
        u = u + self.attn4(u)
        half = img(u, hh // 2, ww // 2)
        up = F.interpolate(half, scale_factor=2.0, mode="nearest")
        return self.conv_out(torch.cat([full, up], dim=1))


def fused_mha(path, projection_bias=False):
    """A cross-attention as one com.microsoft.MultiHeadAttention node (keys from the text); with
    projection_bias the node also takes MHA's packed q/k/v bias input, which the rewrite refuses."""
    rng = np.random.default_rng(5)
    weights = {n: rng.standard_normal(s).astype(np.float32) for n, s in
               (("wq", [C, 4]), ("wk", [D, 4]), ("wv", [D, 4]), ("wo", [4, C]), ("qkv_bias", [12]))}
    init = lambda name: helper.make_tensor(name, TensorProto.FLOAT, list(weights[name].shape), weights[name].ravel())
    mha_inputs = ["q", "k", "v"] + (["qkv_bias"] if projection_bias else [])
    nodes = [
        helper.make_node("Transpose", ["sample"], ["t0"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t0", "shape_bnc"], ["tokens"]),
        helper.make_node("MatMul", ["tokens", "wq"], ["q"]),
        helper.make_node("MatMul", ["encoder_hidden_states", "wk"], ["k"]),
        helper.make_node("MatMul", ["encoder_hidden_states", "wv"], ["v"]),
        helper.make_node("MultiHeadAttention", mha_inputs, ["attn"], domain="com.microsoft", num_heads=2),
        helper.make_node("MatMul", ["attn", "wo"], ["o"]),
        helper.make_node("Reshape", ["o", "shape_nhwc"], ["o4"]),
        helper.make_node("Transpose", ["o4"], ["out_sample"], perm=[0, 3, 1, 2]),
    ]
    inits = [init("wq"), init("wk"), init("wv"), init("wo")] + ([init("qkv_bias")] if projection_bias else []) + [
        helper.make_tensor("shape_bnc", TensorProto.INT64, [3], [0, -1, C]),
        helper.make_tensor("shape_nhwc", TensorProto.INT64, [4], [B, H, W, C])]
    g = helper.make_graph(nodes, "fused_mha",
                          [helper.make_tensor_value_info("sample", TensorProto.FLOAT, [B, C, H, W]),
                           helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT, [B, T, D])],
                          [helper.make_tensor_value_info("out_sample", TensorProto.FLOAT, [B, C, H, W])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return weights


def fused_reference(weights, sample, ctx, bias=None, sigma=None):
    """numpy: MultiHeadAttention (2 heads, scale 1/sqrt(d)) with the paint-with-words term."""
    tokens = sample.transpose(0, 2, 3, 1).reshape(B, H * W, C).astype(np.float64)
    heads = lambda x: x.reshape(B, x.shape[1], 2, 2).transpose(0, 2, 1, 3)
    q, k, v = heads(tokens @ weights["wq"]), heads(ctx @ weights["wk"]), heads(ctx @ weights["wv"])
    s = q @ k.transpose(0, 1, 3, 2)
    if bias is not None:
        s = s + bias[:, None].astype(np.float64) * np.log1p(sigma.astype(np.float64))[:, None, None, None] \
            * s.max(axis=(2, 3), keepdims=True)
    s = s / math.sqrt(2)
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    o = (a @ v).transpose(0, 2, 1, 3).reshape(B, H * W, 4) @ weights["wo"]
    return o.reshape(B, H, W, C).transpose(0, 3, 1, 2).astype(np.float32)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(11)
    sample = torch.randn(B, C, H, W, generator=g)
    ctx = torch.randn(B, T, D, generator=g)
    bias = torch.rand(B, H * W, T, generator=g) * (torch.rand(B, 1, T, generator=g) < 0.5)
    sigma = torch.tensor([0.7, 9.0])
    np.save(OUT / "sample.npy", sample.numpy())
    np.save(OUT / "encoder_hidden_states.npy", ctx.numpy())
    np.save(OUT / "bias.npy", bias.numpy().astype(np.float32))
    np.save(OUT / "sigma.npy", sigma.numpy())
    summary = {}
    for i, style in enumerate(["classic", "sdpa", "batched"]):
        torch.manual_seed(100 + i)
        net = Net(style).eval()
        path = OUT / f"{style}.onnx"
        with torch.no_grad():
            torch.onnx.export(net, (sample, ctx), str(path), input_names=["sample", "encoder_hidden_states"],
                              output_names=["out_sample"], opset_version=17, dynamo=False, do_constant_folding=True,
                              dynamic_axes={"sample": {0: "batch", 2: "height", 3: "width"},
                                            "encoder_hidden_states": {0: "batch", 1: "tokens"}})
            plain = net(sample, ctx).numpy()
            painted = net(sample, ctx, bias, sigma).numpy()
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"sample": sample.numpy(), "encoder_hidden_states": ctx.numpy()})[0]
        err = float(np.abs(got - plain).max())
        assert err < 1e-5, (style, err)
        if style == "classic":  # opset 18 moved the Reduce* axes to an input: the rewrite emits both forms
            with torch.no_grad():
                torch.onnx.export(net, (sample, ctx), str(OUT / "classic_opset18.onnx"),
                                  input_names=["sample", "encoder_hidden_states"], output_names=["out_sample"],
                                  opset_version=18, dynamo=False, do_constant_folding=True,
                                  dynamic_axes={"sample": {0: "batch", 2: "height", 3: "width"},
                                                "encoder_hidden_states": {0: "batch", 1: "tokens"}})
        np.save(OUT / f"{style}_plain.npy", plain)
        np.save(OUT / f"{style}_painted.npy", painted)
        m = onnx.load(str(path))
        summary[style] = {"softmax": sum(n.op_type == "Softmax" for n in m.graph.node),
                          "painted_minus_plain_max": float(np.abs(painted - plain).max()), "ort_vs_torch": err}
    weights = fused_mha(OUT / "fused_mha.onnx")
    fused_mha(OUT / "fused_mha_projection_bias.onnx", projection_bias=True)
    sess = ort.InferenceSession(str(OUT / "fused_mha.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"sample": sample.numpy(), "encoder_hidden_states": ctx.numpy()})[0]
    plain = fused_reference(weights, sample.numpy(), ctx.numpy())
    err = float(np.abs(got - plain).max())
    assert err < 1e-5, ("fused", err)
    painted = fused_reference(weights, sample.numpy(), ctx.numpy(), bias.numpy(), sigma.numpy())
    np.save(OUT / "fused_mha_painted.npy", painted)
    summary["fused_mha"] = {"painted_minus_plain_max": float(np.abs(painted - plain).max()), "ort_vs_numpy": err}
    json.dump(summary, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
