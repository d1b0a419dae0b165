"""[mini-2]: the miniature eDiff-I denoisers (base experts, SR), training, ONNX export, bundle."""
