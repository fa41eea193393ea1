# SPDX-License-Identifier: Apache-2.0
"""Password hashing with argon2id, off the event loop.

The default cost is OWASP's minimum for argon2id (19 MiB, two passes). Test deployments
may lower it through `[passwords]` in the config, as Synapse's `bcrypt_rounds` does, so
that a conformance run registering thousands of users is not dominated by hashing.
Hashes record their own parameters, so changing the cost never invalidates old ones.
Hashing is CPU-bound and each one holds its memory cost, so at most one runs per core:
a burst of logins then queues instead of multiplying memory (40 threads × 19 MiB).
"""
from __future__ import annotations

import os

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, *, time_cost: int = 2, memory_kib: int = 19456) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._limiter = trio.CapacityLimiter(os.cpu_count() or 1)

    async def hash(self, password: str) -> str:
        return await trio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def check(self, password_hash: str | None, password: str) -> bool:
        if not password_hash:
            return False

        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await trio.to_thread.run_sync(verify, limiter=self._limiter)
