"""Uploaded images decoded once, bounded, so that only images a browser worker can embed are
stored: the formats, limits and error codes of facenet-wasm's decoder (src/decode.rs), with
Pillow. Only pixels are stored: an image that is not a plain JPEG (EXIF with GPS, XMP, ICC,
comments: the attendance rules' ``image_keeps_as_is``) is stored re-encoded, orientation applied
first, as facenet-server does."""

import io
import warnings

import facenet_attendance_rules as rules
from PIL import Image, ImageOps, UnidentifiedImageError

from .contract import DECODE_LIMITS
from .errors import ApiError

# The formats facenet-wasm decodes, by their first bytes.
MAGIC = [
    (b"\xff\xd8\xff", "JPEG", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png"),
    (b"GIF87a", "GIF", "image/gif"),
    (b"GIF89a", "GIF", "image/gif"),
    (b"BM", "BMP", "image/bmp"),
]


def _format(data):
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP", "image/webp"
    for magic, name, mime in MAGIC:
        if data.startswith(magic):
            return name, mime
    return None


REENCODE_QUALITY = 92  # facenet-server's


def checked_image(data):
    """``(content_type, width, height, the bytes to store)`` of an image the decoder accepts,
    else ``ApiError`` with DecodeError, UnsupportedFormat, ImageTooLarge or ImageTooSmall."""
    return _checked(data, False)[:4]


def checked_crop(data):
    """``checked_image`` of a face crop, with its pixels' sharpness (the rules' ``sharpness``, as
    facenet-server computes it at upload, for the face's quality): a fifth item, None if unknown."""
    return _checked(data, True)


def _checked(data, sharpness):
    if not data:
        raise ApiError("DecodeError", "empty image: 0 bytes")
    found = _format(data)
    if found is None:
        raise ApiError("UnsupportedFormat", f"not JPEG, PNG, WebP, BMP or GIF (starts with {data[:8].hex(' ')})")
    name, _ = found
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[name])
            width, height = image.size
            limits = DECODE_LIMITS
            if width > limits["max_width"] or height > limits["max_height"]:
                raise ApiError(
                    "ImageTooLarge", f"{width}×{height} pixels, limit {limits['max_width']}×{limits['max_height']}"
                )
            if width * height * 4 * 2 > limits["max_alloc"]:
                raise ApiError(
                    "ImageTooLarge", f"{width}×{height} {name} needs more than {limits['max_alloc']} bytes to decode"
                )
            if min(width, height) < limits["min_side"]:
                raise ApiError(
                    "ImageTooSmall", f"{width}×{height} pixels; each side must be at least {limits['min_side']}"
                )
            image.load()
            upright = ImageOps.exif_transpose(image).convert("RGB")
            sharp = rules.sharpness(upright.tobytes(), upright.width, upright.height) if sharpness else None
            if rules.image_keeps_as_is(data):
                return "image/jpeg", width, height, data, sharp
            out = io.BytesIO()
            upright.save(out, format="JPEG", quality=REENCODE_QUALITY)
            return "image/jpeg", upright.width, upright.height, out.getvalue(), sharp
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ApiError("ImageTooLarge", str(e)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as e:
        raise ApiError("DecodeError", f"{name}: {e}") from None
