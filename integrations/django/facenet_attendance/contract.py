"""What this app shares with facenet-server, read from files rather than restated:

- ``contract.json`` (beside this file): error codes with their HTTP statuses, the paths, the
  limits. Generated from the Rust definitions by ``crates/server/tests/contract.rs``, which fails
  when the checked-in copy differs.
- The model manifest (``models/facenet.json``, setting ``FACENET_MANIFEST``): the model names,
  their dimensions and "same person" thresholds, and the weights' version (sha256 prefix) a
  posted vector must carry.
"""

import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CONTRACT = json.loads((Path(__file__).with_name("contract.json")).read_text())
ERROR_STATUS = CONTRACT["error_codes"]
LIMITS = CONTRACT["limits"]
DECODE_LIMITS = CONTRACT["decode_limits"]
# Used where the manifest gives no threshold for a model (facenet-server's FALLBACK_THRESHOLD).
FALLBACK_THRESHOLD = 0.40


def token():
    """The bearer token every call needs (setting ``FACENET_TOKEN``)."""
    value = getattr(settings, "FACENET_TOKEN", None)
    if not isinstance(value, str) or len(value) < LIMITS["min_token_len"]:
        raise ImproperlyConfigured(
            f"FACENET_TOKEN must be a string of at least {LIMITS['min_token_len']} characters "
            "(the bearer token of /api/attendance/)"
        )
    return value


@lru_cache(maxsize=1)
def manifest():
    """``{"version", "dimensions": {model: d}, "thresholds": {model: t}}`` from the manifest."""
    path = getattr(settings, "FACENET_MANIFEST", None)
    if not path:
        raise ImproperlyConfigured("FACENET_MANIFEST must name the model manifest (models/facenet.json)")
    try:
        data = json.loads(Path(path).read_text())
        version = data["sha256"][: CONTRACT["model_version_length"]]
        outputs = data["outputs"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ImproperlyConfigured(f"FACENET_MANIFEST {path}: not a facenet-wasm model manifest ({e})") from e
    return {
        "version": version,
        "dimensions": {o["model"]: o["dimension"] for o in outputs if o.get("dimension")},
        "thresholds": {o["model"]: o["same_person_threshold"] for o in outputs if o.get("same_person_threshold")},
    }


def settings_check():
    token()
    manifest()
