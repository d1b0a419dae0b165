"""The miniature base denoiser exported WITHOUT its attention_bias input, for checking the graph
rewrite against the shipped graph that has the input (issue pww-any-model).

The PyTorch weights are recovered from the shipped ONNX file by `mini2.recover` (branch mini3's
tools/mini; the [mini-2] checkpoints are gone), then exported with the same exporter settings as
`mini2.export.export_model` but without the bias input, so the graph has no paint-with-words ops.

    cd <a checkout of tools/mini that has mini2/recover.py>
    python /path/to/tools/rewrite/mini_without_bias.py SHIPPED.onnx OUT.onnx
"""
import sys
import warnings

import onnx
import torch

from mini2.export import OPSET, random_feeds
from mini2.recover import recover
from mini2.unet import BASE_INPUTS, ExportWrapper


def main():
    shipped, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    model = recover(shipped, "base").eval()
    names = [n for n in BASE_INPUTS if n != "attention_bias"]
    wrapper = ExportWrapper(model, names).eval()
    feeds = random_feeds("base", 2, 0, 32)
    args = tuple(torch.from_numpy(feeds[n]) for n in names)
    dyn = {n: {0: "batch"} for n in names}
    dyn["denoised"] = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, args, out, input_names=names, output_names=["denoised"], dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    onnx.checker.check_model(onnx.load(out))
    print("wrote", out)


if __name__ == "__main__":
    main()
