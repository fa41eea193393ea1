# SPDX-License-Identifier: Apache-2.0
"""Checking the X-Matrix signature of inbound federation requests."""
from __future__ import annotations

from typing import Any

from ..errors import MatrixError
from ..protocol.signing import SignatureError
from .keyring import KeyNotFound, KeyRing
from .request_auth import AuthHeaderError, parse_authorization, verify_request


def unauthorized(message: str) -> MatrixError:
    return MatrixError(401, "M_UNAUTHORIZED", message)


class FederationAuthenticator:
    def __init__(self, *, keyring: KeyRing, server_name: str) -> None:
        self._keyring = keyring
        self._server_name = server_name

    async def __call__(self, header: str | None, method: str, uri: str, content: Any) -> str:
        try:
            parsed = parse_authorization(header)
        except AuthHeaderError as error:
            raise unauthorized(f"Bad federation request signature: {error}.") from None
        if parsed.destination is not None and parsed.destination != self._server_name:
            raise unauthorized(f"This request was addressed to {parsed.destination}, "
                               f"not {self._server_name}.")
        try:
            verify_key = await self._keyring.verify_key(parsed.origin, parsed.key_id)
            verify_request(parsed, method=method, uri=uri, destination=self._server_name,
                           content=content, verify_key=verify_key)
        except (KeyNotFound, SignatureError) as error:
            raise unauthorized(f"Could not verify the request signature: {error}.") from None
        return parsed.origin
