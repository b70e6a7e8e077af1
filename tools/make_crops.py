#!/usr/bin/env python3
"""Cut the real-face test crops (tests/faces/) out of @vladmandic/face-api's demo group photos.

Usage: python tools/make_crops.py node_modules/@vladmandic/face-api/demo

The boxes below are fixed (found once with OpenCV's frontal-face Haar cascade, false
detections dropped by eye), so the crops are reproducible from the npm package alone.
Each face gives:
  faces/<id>.jpg          the box with a 20 % margin, at most 256 px a side (quality 92)
  faces/<id>-shifted.jpg  the same person, box shifted by 12 % of its size right and down
Fourteen different people: every pair of distinct ids is a different-person pair.
Two encodings the Rust image crate cannot write, for tests/formats.rs:
  formats/s3b-progressive.jpg   s3b as a progressive JPEG
  formats/s3b-exif6.jpg         s3b stored rotated 90° counter-clockwise with EXIF orientation 6
                                (display rotates it back), so only an orientation-aware decoder
                                sees an upright face
"""
import os
import sys

from PIL import Image

# (photo, x, y, size) in the photo's pixels
BOXES = {
    "s1a": ("sample1.jpg", 366, 365, 242),
    "s2a": ("sample2.jpg", 1404, 164, 246),
    "s3a": ("sample3.jpg", 551, 339, 251),
    "s3b": ("sample3.jpg", 1015, 209, 315),
    "s3c": ("sample3.jpg", 1482, 313, 249),
    "s4a": ("sample4.jpg", 928, 193, 241),
    "s5a": ("sample5.jpg", 777, 121, 205),
    "s5b": ("sample5.jpg", 1087, 216, 190),
    "s5c": ("sample5.jpg", 641, 457, 161),
    "s5d": ("sample5.jpg", 357, 897, 237),
    "s6a": ("sample6.jpg", 246, 511, 254),
    "s6b": ("sample6.jpg", 617, 347, 258),
    "s6c": ("sample6.jpg", 1147, 330, 256),
    "s6d": ("sample6.jpg", 1447, 283, 267),
}
MARGIN = 0.20
SHIFT = 0.12
MAX_SIDE = 256

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "faces")


def cut(photo, x, y, size, dx=0.0, dy=0.0):
    m = size * MARGIN
    left, top = x - m + dx * size, y - m + dy * size
    box = tuple(round(v) for v in (left, top, left + size + 2 * m, top + size + 2 * m))
    crop = photo.crop(box)
    if max(crop.size) > MAX_SIDE:
        crop = crop.resize((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return crop


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    demo = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    for face_id, (name, x, y, size) in BOXES.items():
        with Image.open(os.path.join(demo, name)) as photo:
            photo = photo.convert("RGB")
            cut(photo, x, y, size).save(os.path.join(OUT, f"{face_id}.jpg"), quality=92)
            cut(photo, x, y, size, SHIFT, SHIFT).save(os.path.join(OUT, f"{face_id}-shifted.jpg"), quality=92)
    formats = os.path.join(OUT, "..", "formats")
    os.makedirs(formats, exist_ok=True)
    with Image.open(os.path.join(OUT, "s3b.jpg")) as upright:
        upright.save(os.path.join(formats, "s3b-progressive.jpg"), quality=92, progressive=True)
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
        upright.transpose(Image.Transpose.ROTATE_90).save(os.path.join(formats, "s3b-exif6.jpg"), quality=92, exif=exif)
    print(f"{2 * len(BOXES)} crops in {os.path.normpath(OUT)}, 2 encodings in {os.path.normpath(formats)}")


if __name__ == "__main__":
    main()
