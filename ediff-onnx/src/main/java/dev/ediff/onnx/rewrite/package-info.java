/**
 * Paint-with-words on exported models the SDK did not train: {@link dev.ediff.onnx.rewrite.AttentionBiasRewrite}
 * adds eDiff-I's attention-bias input to an ONNX denoiser graph (a cached copy; the user's file is
 * only read).
 *
 * <p>How the ONNX protobuf is read and written: by a minimal hand-written reader/writer of the
 * protobuf wire format (package-private {@code ProtoWire}), not by generated ONNX classes. The
 * rewrite decodes only the fields it needs (node inputs, outputs, names, op types, domains, graph
 * inputs and outputs, initializer names and external-data locations, the opset) and writes every
 * other field back as the exact bytes it read, so nothing it does not understand is lost, fields
 * of newer ONNX versions included. The file is memory-mapped and initializers are never decoded or
 * copied into objects, which matters for U-Nets of up to 2 GB in one file. The alternatives cost
 * more: protobuf-java with generated ONNX classes (or tribuo-util-onnx's {@code OnnxMl}, now a
 * test-only dependency) would add megabytes of runtime dependencies and automatic modules to the
 * module graph and copy every weight into a heap {@code ByteString}; the rewrite needs about a
 * dozen field numbers from {@code onnx.proto3}.
 */
package dev.ediff.onnx.rewrite;
