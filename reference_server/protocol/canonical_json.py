# SPDX-License-Identifier: Apache-2.0
"""Canonical JSON (appendices/#canonical-json).

The shortest UTF-8 encoding with object keys sorted by code point, so that every server
hashes and signs the same bytes for the same value. Room versions 1-5 predate strict
enforcement and may hold floats or huge integers, so the encoder has a lax mode for
hashing and re-signing such events, while `strict=True` (the default, and the rule from
room version 6 on) rejects them.
"""
from __future__ import annotations

import json
import math
from typing import Any

# appendices/#canonical-json: integers must lie in [-(2**53)+1, (2**53)-1].
MIN_SAFE_INTEGER = -(2**53) + 1
MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalJsonError(ValueError):
    """The value cannot be written as canonical JSON."""


def encode_canonical_json(value: Any, *, strict: bool = True) -> bytes:
    """Encode `value` as canonical JSON bytes.

    Floats with an integral value are written as integers, as the appendix's example
    (`1e10` becomes `10000000000`, `-0` becomes `0`) requires. Other floats are an error
    when `strict`; in lax mode they are written the way Python's json module writes them,
    which is what older servers did for room versions 1-5.
    """
    normalised = _normalise(value, strict=strict)
    try:
        text = json.dumps(
            normalised,
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
            allow_nan=False,
        )
        return text.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:  # lone surrogates, NaN
        raise CanonicalJsonError(str(exc)) from exc


def check_canonical_json(value: Any) -> None:
    """Raise `CanonicalJsonError` unless `value` meets the strict canonical JSON rules.

    Receivers use this on events in room versions with `strict_canonical_json`; floats are
    refused outright here (even integral ones), as they cannot have come from a conforming
    encoder.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        _check_int_range(value)
    elif isinstance(value, float):
        raise CanonicalJsonError(f"float {value!r} is not allowed in canonical JSON")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"object key {key!r} is not a string")
            check_canonical_json(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_canonical_json(item)
    else:
        raise CanonicalJsonError(f"{type(value).__name__} is not a JSON value")


def _check_int_range(number: int) -> None:
    if not MIN_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        raise CanonicalJsonError(f"integer {number} is outside the canonical JSON range")


def _normalise(value: Any, *, strict: bool) -> Any:
    """Return a copy of `value` that json.dumps writes canonically, or raise."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if strict:
            _check_int_range(value)
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJsonError(f"{value!r} is not a JSON number")
        if value.is_integer():
            as_int = int(value)
            if strict:
                _check_int_range(as_int)
            return as_int
        if strict:
            raise CanonicalJsonError(f"float {value!r} is not allowed in canonical JSON")
        return value
    if isinstance(value, dict):
        normalised = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"object key {key!r} is not a string")
            normalised[key] = _normalise(item, strict=strict)
        return normalised
    if isinstance(value, (list, tuple)):
        return [_normalise(item, strict=strict) for item in value]
    raise CanonicalJsonError(f"{type(value).__name__} is not a JSON value")
