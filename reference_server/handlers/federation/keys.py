# SPDX-License-Identifier: Apache-2.0
"""keys_server.yaml, keys_query.yaml, version.yaml: who this server is and its keys."""
from __future__ import annotations

from ...federation.keyring import KeyRing
from ...federation.server_keys import build_key_document
from ...http.request import Request
from ...protocol.signing import SigningKey, sign_json
from ...services.clock import now_ms
from ...types import JsonDict

SERVER_SOFTWARE = {"name": "matrix-conformance reference server", "version": "0.1.0"}


class KeyHandlers:
    def __init__(self, *, server_name: str, key: SigningKey, keyring: KeyRing) -> None:
        self._server_name = server_name
        self._key = key
        self._keyring = keyring

    async def get_server_key(self, request: Request) -> JsonDict:
        return self._own_document()

    def _own_document(self) -> JsonDict:
        return build_key_document(self._server_name, self._key, now_ms=now_ms())

    async def get_version(self, request: Request) -> JsonDict:
        return {"server": SERVER_SOFTWARE}

    async def perspectives_key_query(self, request: Request) -> JsonDict:
        # Spec: a missing minimum_valid_until_ts means "valid now".
        minimum = request.query.get("minimum_valid_until_ts", now_ms())
        return {"server_keys": await self._notarised(request.path["serverName"], minimum)}

    async def bulk_perspectives_key_query(self, request: Request) -> JsonDict:
        found: list[JsonDict] = []
        for server_name, wanted in request.body.get("server_keys", {}).items():
            minimum = now_ms()
            for criteria in (wanted or {}).values():
                minimum = max(minimum, int((criteria or {}).get("minimum_valid_until_ts", 0)))
            found.extend(await self._notarised(server_name, minimum))
        return {"server_keys": found}

    async def _notarised(self, server_name: str, minimum_valid_until_ms: int) -> list[JsonDict]:
        """The server's own document with this server's signature added, or nothing."""
        if server_name == self._server_name:
            return [self._own_document()]
        document = await self._keyring.key_document(
            server_name, minimum_valid_until_ms=minimum_valid_until_ms)
        if document is None:
            return []
        return [sign_json(document, server_name=self._server_name, key=self._key)]
