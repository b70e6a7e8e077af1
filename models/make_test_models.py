#!/usr/bin/env python3
"""Tiny ONNX models (a few hundred bytes) that test the engine's model-agnostic path.

Usage: python models/make_test_models.py     → tests/models/

  channel-mean.onnx + .json   NCHW [1,3,32,32] → per-channel mean [1,3]; its manifest asks
                              for BGR order, std 255 and no normalization, so a test can work
                              the expected vector out by hand
  log-mean.onnx + .json       NCHW [1,3,32,32] → log(per-channel mean) [1,3]: NaN on dark
                              input, the way to provoke InferenceError
  facenet-like.onnx           NHWC [1,160,160,3] → per-channel mean [1,3], no manifest: the
                              CLI must assume FaceNet's conventions and take the first output
"""
import json
import os

import onnx
from onnx import TensorProto, helper

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


def main():
    os.makedirs(OUT, exist_ok=True)
    mean = helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[2, 3], keepdims=0)
    save("channel-mean", [mean], [1, 3, 32, 32], "mean", manifest("channel-mean", "BGR", 0.0, 255.0, "mean", False))
    log = helper.make_node("Log", ["mean"], ["log_mean"])
    save("log-mean", [mean, log], [1, 3, 32, 32], "log_mean", manifest("log-mean", "RGB", 127.5, 1.0, "log_mean", True))
    nhwc = helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[1, 2], keepdims=0)
    save("facenet-like", [nhwc], [1, 160, 160, 3], "mean")
    print(f"3 models in {OUT}")


if __name__ == "__main__":
    main()
