#!/usr/bin/env python3
"""Tiny ONNX models (a few hundred bytes) that test the engine's model-agnostic path.

Usage: python tools/make_test_models.py     → tests/models/

  channel-mean.onnx + .json   NCHW [1,3,32,32] → per-channel mean [1,3]; its manifest asks
                              for BGR order, std 255 and no normalization, so a test can work
                              the expected vector out by hand
  log-mean.onnx + .json       NCHW [1,3,32,32] → log(per-channel mean) [1,3]: NaN on dark
                              input, the way to provoke InferenceError
  facenet-like.onnx           NHWC [1,160,160,3] → per-channel mean [1,3], no manifest: the
                              CLI must assume FaceNet's conventions and take the first output
  conv-block.onnx + conv-block-expected.json
                              a residual block of FaceNet's shape (3×3 conv, bias, ReLU, 1×1 conv,
                              residual add, scale) with 13 channels on an 11×13 map, so every
                              matrix product has ragged edge tiles; the expected output is
                              onnxruntime's, for checking GEMM kernels against it
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))


def save(name, nodes, input_shape, output, manifest=None):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="facenet-wasm tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    if manifest:
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")


def manifest(name, channels, mean, std, output, normalize):
    return {
        "file": name + ".onnx",
        "input": {"name": "pixels", "layout": "NCHW", "width": 32, "height": 32, "channels": channels,
                  "mean": [mean] * 3, "std": [std] * 3},
        "outputs": [{"model": name, "output": output, "dimension": 3, "l2_normalize": normalize}],
    }


def conv_block():
    rng = np.random.default_rng(20261127)
    c_in, c, h, w = 5, 13, 11, 13

    def const(name, shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.3, name)

    inits = [const("w1", (c, c_in, 3, 3)), const("b1", (c,)), const("w2", (c, c, 1, 1)), const("b2", (c,)),
             numpy_helper.from_array(np.array(0.17, dtype=np.float32), "scale")]
    nodes = [
        helper.make_node("Conv", ["pixels", "w1", "b1"], ["conv1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"]),
        helper.make_node("Conv", ["relu1", "w2", "b2"], ["conv2"]),
        helper.make_node("Mul", ["conv2", "scale"], ["scaled"]),
        helper.make_node("Add", ["relu1", "scaled"], ["sum"]),
        helper.make_node("Relu", ["sum"], ["out"]),
    ]
    graph = helper.make_graph(nodes, "conv-block",
                              [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, c_in, h, w])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, c, h, w])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="facenet-wasm tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(OUT, "conv-block.onnx")
    onnx.save(model, path)

    import onnxruntime as ort
    x = rng.standard_normal((1, c_in, h, w)).astype(np.float32)
    (y,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"pixels": x})
    with open(os.path.join(OUT, "conv-block-expected.json"), "w") as f:
        json.dump({"input_shape": list(x.shape), "input": [float(v) for v in x.ravel()],
                   "output_shape": list(y.shape), "output": [float(v) for v in y.ravel()]}, f)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    mean = helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[2, 3], keepdims=0)
    save("channel-mean", [mean], [1, 3, 32, 32], "mean", manifest("channel-mean", "BGR", 0.0, 255.0, "mean", False))
    log = helper.make_node("Log", ["mean"], ["log_mean"])
    save("log-mean", [mean, log], [1, 3, 32, 32], "log_mean", manifest("log-mean", "RGB", 127.5, 1.0, "log_mean", True))
    nhwc = helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[1, 2], keepdims=0)
    save("facenet-like", [nhwc], [1, 160, 160, 3], "mean")
    conv_block()
    print(f"4 models in {OUT}")


if __name__ == "__main__":
    main()
