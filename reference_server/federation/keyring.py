# SPDX-License-Identifier: Apache-2.0
"""Other servers' verify keys: fetched from them, checked, and cached until they expire.

Spec (server-server, retrieving server keys): a key is usable for a signature made
while it was valid; keys are fetched directly from the server's key endpoint.
"""
from __future__ import annotations

from ..protocol.signing import SigningKey
from .client import FederationClient, FederationError
from .server_keys import KeyDocumentError, VerifyKey, parse_key_document


class KeyNotFound(Exception):
    """No usable key with that ID could be found for the server."""


class KeyRing:
    def __init__(self, *, client: FederationClient, server_name: str, own_key: SigningKey,
                 clock) -> None:
        self._client = client
        self._server_name = server_name
        self._own_key = own_key
        self._clock = clock
        self._keys: dict[tuple[str, str], VerifyKey] = {}
        self._documents: dict[str, dict] = {}

    async def verify_key(self, server_name: str, key_id: str, *,
                         valid_at_ms: int | None = None) -> bytes:
        """The public key `key_id` of `server_name`, valid at `valid_at_ms` (default: now)."""
        if server_name == self._server_name and key_id == self._own_key.key_id:
            return self._own_key.verify_key_bytes
        moment = valid_at_ms if valid_at_ms is not None else self._clock()
        cached = self._keys.get((server_name, key_id))
        if cached is None or not _usable(cached, moment):
            await self._fetch(server_name)
            cached = self._keys.get((server_name, key_id))
        if cached is None or not _usable(cached, moment):
            raise KeyNotFound(f"{server_name} has no key {key_id} valid at {moment}")
        return cached.key

    async def _fetch(self, server_name: str) -> None:
        try:
            document = await self._client.request("GET", server_name, "/_matrix/key/v2/server",
                                                  signed=False, timeout=10)
            keys = parse_key_document(document, expected_server=server_name)
        except (FederationError, KeyDocumentError) as error:
            raise KeyNotFound(f"cannot fetch keys of {server_name}: {error}") from None
        for key in keys:
            self._keys[(server_name, key.key_id)] = key
        self._documents[server_name] = document

    async def key_document(self, server_name: str, *, minimum_valid_until_ms: int) -> dict | None:
        """A server's own signed key document, valid until at least the given time (notary use)."""
        document = self._documents.get(server_name)
        if document is None or document.get("valid_until_ts", 0) < minimum_valid_until_ms:
            try:
                await self._fetch(server_name)
            except KeyNotFound:
                return None
            document = self._documents.get(server_name)
        return document


def _usable(key: VerifyKey, moment: int) -> bool:
    if key.expired_ts is not None:
        return moment < key.expired_ts
    return moment <= key.valid_until_ts
