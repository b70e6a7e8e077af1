#!/usr/bin/env python3
"""Fit the 512 → 128 projection of the `facenet` vector on real faces, without identity labels.

The 128-d vector is the old system's contract (DeepFace's Facenet). Until model f9c6e228eb51 it
was embedding512 through a *random* orthonormal 512×128 matrix, which spreads the noise of all
512 directions into the 128 kept ones: on tests/naming.rs it named strangers (20 of 1,890 at its
0.42) where the 512-d vector named none. FaceNet's vectors of real faces fill far fewer than 512
directions, so the projection kept now is onto the 128 directions they fill most: the top right
singular vectors of the (uncentred) matrix of unit 512-d vectors of many faces, and of their
mirror images. Uncentred because every distance is a cosine about the origin; no whitening,
because with about a hundred faces the weak directions it would amplify are noise (measured:
whitened variants named fewer pupils right at every threshold).

  cargo test --release --test naming -- --nocapture            # with FACENET_DUMP_FACES=faces.json
  python tools/projection.py faces.json                         # → tools/facenet-projection.npy,
                                                                #   models/facenet.onnx, facenet.json,
                                                                #   tests/golden/golden.json (128-d)

Only the projection's initializer of models/facenet.onnx changes (every other byte stays), and
the manifest's sha256, size and note with it. tools/convert.py reads the same .npy, so a full
conversion gives the same file.
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "models"))
BASIS = os.path.join(HERE, "facenet-projection.npy")
INITIALIZER = "projection_512x128"
# What the manifest says of the 128-d output (tools/convert.py writes the same), and its
# same-person threshold, measured by tests/naming.rs and tests/deepface.rs (models/README.md).
NOTE_128 = ("embedding512 times an orthonormal 512x128 matrix: the top 128 right singular vectors of unit "
            "512-d vectors of real faces and of their mirror images (tools/projection.py)")
THRESHOLD_128 = 0.40


def fit(vectors, k=128):
    """Top-k right singular vectors of the rows (unit vectors), signs fixed so that each
    column's largest entry is positive (the basis is then unique)."""
    _, s, vt = np.linalg.svd(vectors, full_matrices=False)
    if len(s) < k or s[k - 1] < 1e-6 * s[0]:
        sys.exit(f"{len(vectors)} vectors fill fewer than {k} directions: embed more faces")
    p = vt[:k].T
    p = p * np.sign(p[np.abs(p).argmax(axis=0), np.arange(k)])
    kept = (s[:k] ** 2).sum() / (s ** 2).sum()
    return p.astype(np.float32), kept


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    faces = json.load(open(sys.argv[1]))
    rows = np.array([f[key] for f in faces for key in ("facenet512", "facenet512_flip")], np.float64)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    p, kept = fit(rows)
    np.save(BASIS, p)
    print(f"{len(faces)} faces of {len({f['file'] for f in faces})} photos, {len(rows)} vectors (with mirrors): "
          f"the 128 directions keep {100 * kept:.4f} % of their energy")

    path = os.path.join(MODELS, "facenet.onnx")
    model = onnx.load(path)
    (init,) = [i for i in model.graph.initializer if i.name == INITIALIZER]
    assert list(init.dims) == [512, 128] and init.data_type == onnx.TensorProto.FLOAT
    init.raw_data = p.tobytes()
    onnx.save(model, path)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()

    manifest_path = os.path.join(MODELS, "facenet.json")
    manifest = json.load(open(manifest_path))
    manifest["sha256"], manifest["size"] = digest, os.path.getsize(path)
    (out,) = [o for o in manifest["outputs"] if o["output"] == "embedding128"]
    out["note"], out["same_person_threshold"] = NOTE_128, THRESHOLD_128
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{path}: sha256 {digest} (version {digest[:12]})")

    # The golden 128-d vectors follow from the golden 512-d ones (onnxruntime, f32 model) as the
    # graph computes them, embedding512 @ P, then L2-normalized: what tools/golden.py would write.
    golden_path = os.path.join(HERE, "..", "tests", "golden", "golden.json")
    golden = json.load(open(golden_path))
    for crop in golden["crops"].values():
        v = np.array(crop["facenet512"], np.float64) @ p.astype(np.float64)
        crop["facenet"] = [round(float(x), 7) for x in v / np.linalg.norm(v)]
    with open(golden_path, "w") as f:
        json.dump(golden, f, indent=None, separators=(",", ":"))
    print(f"{os.path.normpath(golden_path)}: the facenet vectors of {len(golden['crops'])} crops")


if __name__ == "__main__":
    main()
