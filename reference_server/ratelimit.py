# SPDX-License-Identifier: Apache-2.0
"""Token-bucket rate limiting for the operations whose api/ entry documents a 429."""
from __future__ import annotations

import time
from collections.abc import Callable

from . import errors
from .http.request import Request, Requester
from .http.routing import Route


def _never(requester: Requester) -> bool:
    return False


class RateLimiter:
    """`exempt(requester)` says who is never limited (application services, as their
    registration's `rate_limited` asks)."""

    def __init__(self, *, enabled: bool, per_second: float = 10.0, burst: int = 50,
                 exempt: Callable[[Requester], bool] = _never) -> None:
        self._enabled = enabled
        self._rate = per_second
        self._burst = burst
        self._exempt = exempt
        self._buckets: dict[str, tuple[float, float]] = {}

    def __call__(self, route: Route, request: Request) -> None:
        if not self._enabled or not route.operation.documents_status(429):
            return
        if request.requester is not None and self._exempt(request.requester):
            return
        key = request.requester.user_id if request.requester else request.client_ip
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(self._burst), now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            raise errors.limit_exceeded(int((1 - tokens) / self._rate * 1000) + 1)
        self._buckets[key] = (tokens - 1, now)
