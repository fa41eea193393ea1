# SPDX-License-Identifier: Apache-2.0
"""Time and randomness, in one place so that tests and services agree on units."""
from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits


def now_ms() -> int:
    return int(time.time() * 1000)


def random_string(length: int, alphabet: str = _ALPHABET) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
