#!/usr/bin/env python3
"""Reference face detection with onnxruntime: the RetinaFace post-processing written out in
numpy, independent of the Rust engine, so tests can compare the two.

Usage: python tools/detect_reference.py tests/photos/sample*.jpg > tests/golden/detections.json

Each photo is resized (Pillow, bilinear) so that its long side is at most MAX_SIDE, fed whole
(no padding) to models/retinaface.onnx, and the faces are given in the photo's own pixels:
  {"sample1.jpg": {"width": 1920, "height": 1280, "faces": [{"box": [x, y, w, h], "score": s,
                   "landmarks": [[x, y] × 5]}]}}
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))  # the shipped model files
MANIFEST = json.load(open(os.path.join(MODELS, "retinaface.json")))
MAX_SIDE = 1280


def session():
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(os.path.join(MODELS, "retinaface.onnx"), options, providers=["CPUExecutionProvider"])


def anchors(height, width):
    """(N, 4) anchors (cx, cy, w, h) in input pixels: per step, row, column, size."""
    a = MANIFEST["anchors"]
    out = []
    for step, sizes in zip(a["steps"], a["sizes"]):
        rows, cols = -(-height // step), -(-width // step)
        for i in range(rows):
            for j in range(cols):
                for s in sizes:
                    out.append(((j + 0.5) * step, (i + 0.5) * step, s, s))
    return np.array(out, dtype=np.float64)


def nms(boxes, scores, iou):
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        x1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        y1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        x2 = np.minimum(boxes[i, 0] + boxes[i, 2], boxes[order[1:], 0] + boxes[order[1:], 2])
        y2 = np.minimum(boxes[i, 1] + boxes[i, 3], boxes[order[1:], 1] + boxes[order[1:], 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        union = boxes[i, 2] * boxes[i, 3] + boxes[order[1:], 2] * boxes[order[1:], 3] - inter
        order = order[1:][inter / union <= iou]
    return keep


def detect(sess, image, max_side=MAX_SIDE, min_score=None, nms_iou=None):
    """RGB PIL image → faces in its own pixels, best score first."""
    d = MANIFEST["defaults"]
    min_score = d["min_score"] if min_score is None else min_score
    nms_iou = d["nms_iou"] if nms_iou is None else nms_iou
    w0, h0 = image.size
    scale = min(1.0, max_side / max(w0, h0))
    w, h = max(1, round(w0 * scale)), max(1, round(h0 * scale))
    resized = image.resize((w, h), Image.Resampling.BILINEAR) if (w, h) != (w0, h0) else image
    x = np.asarray(resized, dtype=np.float32)[:, :, ::-1] - np.array(MANIFEST["input"]["mean"], dtype=np.float32)
    x = x.transpose(2, 0, 1)[None]
    loc, conf, landm = sess.run(["loc", "conf", "landmarks"], {"input": np.ascontiguousarray(x)})
    prior = anchors(h, w)
    v0, v1 = MANIFEST["anchors"]["variances"]
    loc, conf, landm = loc[0].astype(np.float64), conf[0, :, 1], landm[0].astype(np.float64)
    centre = prior[:, :2] + loc[:, :2] * v0 * prior[:, 2:]
    size = prior[:, 2:] * np.exp(loc[:, 2:] * v1)
    boxes = np.concatenate([centre - size / 2, size], axis=1)
    points = prior[:, None, :2] + landm.reshape(-1, 5, 2) * v0 * prior[:, None, 2:]
    keep = np.where(conf >= min_score)[0]
    boxes, scores, points = boxes[keep], conf[keep], points[keep]
    keep = nms(boxes, scores, nms_iou)
    # The scale actually applied per axis (rounding makes the two differ slightly).
    sx, sy = w / w0, h / h0
    faces = []
    for i in keep:
        b = boxes[i]
        faces.append({
            "box": [b[0] / sx, b[1] / sy, b[2] / sx, b[3] / sy],
            "score": float(scores[i]),
            "landmarks": [[p[0] / sx, p[1] / sy] for p in points[i]],
        })
    return faces


def load_rgb(path):
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sess = session()
    out = {}
    for path in sys.argv[1:]:
        image = load_rgb(path)
        faces = detect(sess, image)
        for f in faces:
            f["box"] = [round(v, 2) for v in f["box"]]
            f["score"] = round(f["score"], 5)
            f["landmarks"] = [[round(v, 2) for v in p] for p in f["landmarks"]]
        out[os.path.basename(path)] = {"width": image.size[0], "height": image.size[1], "max_side": MAX_SIDE, "faces": faces}
    # One face a line: small diffs, readable by eye.
    lines = []
    for name, photo in out.items():
        faces = ",\n    ".join(json.dumps(f) for f in photo["faces"])
        head = json.dumps({k: v for k, v in photo.items() if k != "faces"})[:-1]
        lines.append(f'  {json.dumps(name)}: {head}, "faces": [\n    {faces}\n  ]}}')
    print("{\n" + ",\n".join(lines) + "\n}")


if __name__ == "__main__":
    main()
