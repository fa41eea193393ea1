# SPDX-License-Identifier: Apache-2.0
"""Token-bucket rate limiting for the operations whose api/ entry documents a 429."""
from __future__ import annotations

import time

from . import errors
from .http.request import Request
from .http.routing import Route


class RateLimiter:
    def __init__(self, *, enabled: bool, per_second: float = 10.0, burst: int = 50) -> None:
        self._enabled = enabled
        self._rate = per_second
        self._burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def __call__(self, route: Route, request: Request) -> None:
        if not self._enabled or not route.operation.documents_status(429):
            return
        if request.requester is not None and request.requester.appservice_id:
            return
        key = request.requester.user_id if request.requester else request.client_ip
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(self._burst), now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            raise errors.limit_exceeded(int((1 - tokens) / self._rate * 1000) + 1)
        self._buckets[key] = (tokens - 1, now)
