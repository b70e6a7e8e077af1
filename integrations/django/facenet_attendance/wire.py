"""Request bodies and query parameters, checked as strictly as facenet-server's serde types:
a wrong type, a missing field or a malformed number is an ``InvalidRequest`` naming the field.
"""

import json
import math
import re

from .contract import LIMITS
from .errors import ApiError

I64 = (-(2**63), 2**63 - 1)


def invalid(message):
    return ApiError("InvalidRequest", message)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(body):
    """A JSON object from the body (NaN and Infinity are not JSON)."""
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise invalid(f"invalid JSON body: {e}") from None
    if not isinstance(value, dict):
        raise invalid("invalid JSON body: expected an object")
    return value


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def field(obj, name, kind, required=True):
    """``obj[name]`` checked to be ``kind``: 'str', 'int' (i64), 'uint' (≥ 0), 'number', 'bool',
    'numbers' (a list of numbers), 'ints' (a list of i64), 'list'. Absent or null: None (or an
    error when required)."""
    value = obj.get(name)
    if value is None:
        if required:
            raise invalid(f"invalid JSON body: missing field `{name}`")
        return None
    ok = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: _is_int(v) and I64[0] <= v <= I64[1],
        "uint": lambda v: _is_int(v) and 0 <= v <= 2**32 - 1,
        "u64": lambda v: _is_int(v) and 0 <= v <= 2**64 - 1,
        "number": lambda v: _is_number(v) and math.isfinite(v),
        "bool": lambda v: isinstance(v, bool),
        "numbers": lambda v: isinstance(v, list) and all(_is_number(x) for x in v),
        "ints": lambda v: isinstance(v, list) and all(_is_int(x) and I64[0] <= x <= I64[1] for x in v),
        "list": lambda v: isinstance(v, list),
    }[kind](value)
    if not ok:
        raise invalid(f"invalid JSON body: field `{name}` is not a valid {kind}")
    return value


def checked_name(text, what):
    """Trimmed, not empty, at most max_name_len characters."""
    name = text.strip()
    if not name:
        raise invalid(f"{what} must not be empty")
    if len(name) > LIMITS["max_name_len"]:
        raise invalid(f"{what} has {len(name)} characters; at most {LIMITS['max_name_len']}")
    return name


_INT = re.compile(r"^[+-]?\d+$")


def path_id(text):
    """A path's id: a 64-bit integer, else ``InvalidRequest`` (as axum refuses it)."""
    if not _INT.match(text) or not I64[0] <= int(text) <= I64[1]:
        raise invalid(f"invalid path parameter: {text!r} is not a number")
    return int(text)


def query_int(request, name):
    text = request.GET.get(name)
    if text is None:
        return None
    if not _INT.match(text) or not I64[0] <= int(text) <= I64[1]:
        raise invalid(f"invalid query string: {name}={text!r} is not an integer")
    return int(text)


def query_float(request, name):
    text = request.GET.get(name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise invalid(f"invalid query string: {name}={text!r} is not a number") from None


def numbers(text, count, what):
    """``count`` finite numbers separated by commas."""
    try:
        values = [float(v.strip()) for v in text.split(",")]
    except ValueError:
        raise invalid(f"{what} must be {count} comma-separated numbers, got {text!r}") from None
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise invalid(f"{what} must be {count} finite numbers, got {text!r}")
    return values
