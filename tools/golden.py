#!/usr/bin/env python3
"""Golden vectors and the model card's measurements, from onnxruntime on the f32 model.

Usage: python tools/golden.py            (after tools/convert.py)

Writes tests/golden/golden.json: for every crop in tests/faces/, the facenet (128-d) and
facenet512 vectors of build/facenet-f32.onnx under the reference preprocessing (reference.py).
Prints, for the model card:
  - cosine of the shipped model (int8 weight storage) against f32, per name (min and mean over the crops);
  - verification on the crops (and, for comparison, under per-image prewhitening): same-person pairs (a crop against its shifted box, its mirror
    image and a JPEG re-encoding at quality 50) and different-person pairs (every two people),
    as cosine distance ranges and the accuracy at the best threshold.
"""
import glob
import io
import itertools
import json
import os

import numpy as np
from PIL import Image, ImageOps

import reference

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))  # the shipped model files
FACES = os.path.normpath(os.path.join(HERE, "..", "tests", "faces"))
GOLDEN = os.path.normpath(os.path.join(HERE, "..", "tests", "golden", "golden.json"))


def variant_tensor(path, kind, prewhiten=False):
    """The same person in another form, as the Rust verification test builds it."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img).convert("RGB")
        if kind == "mirror":
            img = ImageOps.mirror(img)
        elif kind == "jpeg50":
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=50)
            buf.seek(0)
            img = Image.open(buf).convert("RGB")
        tmp = io.BytesIO()
        img.save(tmp, format="PNG")
        tmp.seek(0)
        return reference.preprocess(tmp, prewhiten)


def verification(vectors, variants):
    """vectors: id → {model: v}; variants: (id, kind) → {model: v}. Returns per model figures."""
    people = sorted(k for k in vectors if not k.endswith("-shifted"))
    out = {}
    for model in ("facenet", "facenet512"):
        same = [1 - float(vectors[p][model] @ vectors[p + "-shifted"][model]) for p in people]
        same += [1 - float(vectors[p][model] @ variants[(p, k)][model]) for p in people for k in ("mirror", "jpeg50")]
        diff = [1 - float(vectors[a][model] @ vectors[b][model]) for a, b in itertools.combinations(people, 2)]
        best = max(
            ((sum(d <= t for d in same) + sum(d > t for d in diff)) / (len(same) + len(diff)), t)
            for t in sorted(same + diff)
        )
        out[model] = {
            "same_pairs": len(same), "same_max": max(same), "same_mean": float(np.mean(same)),
            "diff_pairs": len(diff), "diff_min": min(diff), "diff_mean": float(np.mean(diff)),
            "best_accuracy": best[0], "best_threshold": best[1],
        }
    return out


def main():
    f32 = reference.Session(os.path.join(HERE, "build", "facenet-f32.onnx"))
    shipped = reference.Session(os.path.join(MODELS, "facenet.onnx"))
    paths = sorted(glob.glob(os.path.join(FACES, "*.jpg")))
    vectors, golden, cos16 = {}, {}, {"facenet": [], "facenet512": []}
    for path in paths:
        face_id = os.path.splitext(os.path.basename(path))[0]
        tensor = reference.preprocess(path)
        ref, half = f32.run(tensor), shipped.run(tensor)
        vectors[face_id] = ref
        golden[os.path.basename(path)] = {m: [round(float(x), 7) for x in v] for m, v in ref.items()}
        for m in cos16:
            cos16[m].append(float(ref[m] @ half[m]))
    variants = {
        (p, k): f32.run(variant_tensor(os.path.join(FACES, p + ".jpg"), k))
        for p in vectors if not p.endswith("-shifted") for k in ("mirror", "jpeg50")
    }

    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    with open(GOLDEN, "w") as f:
        json.dump({"model": "build/facenet-f32.onnx", "preprocessing": "tools/reference.py",
                   "crops": golden}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"{len(golden)} golden crops → {GOLDEN}")
    for m, c in cos16.items():
        print(f"{m}: cosine shipped storage vs f32 over {len(c)} crops: min {min(c):.7f}, mean {np.mean(c):.7f}")
    whitened = {p: f32.run(reference.preprocess(os.path.join(FACES, p + ".jpg"), prewhiten=True)) for p in vectors}
    whitened_variants = {
        (p, k): f32.run(variant_tensor(os.path.join(FACES, p + ".jpg"), k, prewhiten=True)) for (p, k) in variants
    }
    for label, vs, vv in (("", vectors, variants), (" [prewhitened]", whitened, whitened_variants)):
        for m, v in verification(vs, vv).items():
            print(f"{m}{label}: same-person {v['same_pairs']} pairs, cosine distance max {v['same_max']:.3f} mean {v['same_mean']:.3f}; "
                  f"different-person {v['diff_pairs']} pairs, min {v['diff_min']:.3f} mean {v['diff_mean']:.3f}; "
                  f"best accuracy {v['best_accuracy']:.3f} at distance ≤ {v['best_threshold']:.3f}")


if __name__ == "__main__":
    main()
