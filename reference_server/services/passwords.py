# SPDX-License-Identifier: Apache-2.0
"""Password hashing with argon2id, off the event loop.

The parameters are OWASP's minimum for argon2id (19 MiB, two passes): strong enough for a
real server, and cheap enough that a conformance run registering thousands of users is not
dominated by hashing.
"""
from __future__ import annotations

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


async def hash_password(password: str) -> str:
    return await trio.to_thread.run_sync(_HASHER.hash, password)


async def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False

    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await trio.to_thread.run_sync(verify)
