# SPDX-License-Identifier: Apache-2.0
"""X-Matrix request authentication (server-server, request authentication).

A federation request is signed as a JSON object of method, uri, origin, destination and,
when there is one, the parsed JSON body; the signature travels in an
`Authorization: X-Matrix origin=...,destination=...,key="ed25519:...",sig="..."` header.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..protocol.signing import SignatureError, SigningKey, sign_json, verify_json
from ..types import JsonDict


class AuthHeaderError(ValueError):
    """The Authorization header is missing or not a well-formed X-Matrix header."""


@dataclass(frozen=True)
class XMatrixHeader:
    origin: str
    destination: str | None
    key_id: str
    signature: str


def signable_request(method: str, uri: str, origin: str, destination: str,
                     content: Any | None) -> JsonDict:
    request: JsonDict = {"method": method, "uri": uri, "origin": origin,
                         "destination": destination}
    if content is not None:
        request["content"] = content
    return request


def sign_request(method: str, uri: str, *, origin: str, destination: str, content: Any | None,
                 key: SigningKey) -> str:
    """The Authorization header value for an outgoing request (`uri` is path plus query)."""
    signed = sign_json(signable_request(method, uri, origin, destination, content),
                       server_name=origin, key=key)
    signature = signed["signatures"][origin][key.key_id]
    return (f'X-Matrix origin="{origin}",destination="{destination}",'
            f'key="{key.key_id}",sig="{signature}"')


_PARAM = re.compile(r'\s*([A-Za-z0-9_]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)')


def parse_authorization(header: str | None) -> XMatrixHeader:
    """Parse an X-Matrix header; parameters may be quoted or bare, in any order."""
    if not header:
        raise AuthHeaderError("missing Authorization header")
    scheme, _, rest = header.strip().partition(" ")
    if scheme != "X-Matrix":
        raise AuthHeaderError("the Authorization scheme must be X-Matrix")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None or match.end() == position:
            raise AuthHeaderError("malformed X-Matrix parameters")
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[name] = value
        position = match.end()
    missing = [p for p in ("origin", "key", "sig") if not params.get(p)]
    if missing:
        raise AuthHeaderError(f"X-Matrix header lacks {', '.join(missing)}")
    return XMatrixHeader(params["origin"], params.get("destination"), params["key"],
                         params["sig"])


def verify_request(header: XMatrixHeader, *, method: str, uri: str, destination: str,
                   content: Any | None, verify_key: bytes) -> None:
    """Raise SignatureError unless the header's signature covers this request."""
    if header.destination is not None and header.destination != destination:
        raise SignatureError(f"request was addressed to {header.destination}, not {destination}")
    request = signable_request(method, uri, header.origin, destination, content)
    request["signatures"] = {header.origin: {header.key_id: header.signature}}
    verify_json(request, server_name=header.origin, key_id=header.key_id, verify_key=verify_key)
