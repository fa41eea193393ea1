# SPDX-License-Identifier: Apache-2.0
"""X-Matrix request signatures, both ways, and fetching the keys that check them.

Spec: server-server-api/#request-authentication. A request is signed as the JSON object
`{method, uri, origin, destination, content}` (content only when there is a body), and
the signature travels as `Authorization: X-Matrix origin=…,destination=…,key=…,sig=…`.
The suite writes the header the way the spec asks senders to (lower-case names, quoted
values, no spaces) and reads it the way it asks receivers to (any case and order, quoted
or bare values, backslash escapes, spaces around commas), so a target is held to the
letter on what it sends and given the spec's latitude on nothing else.
"""
from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tests.harness.crypto import SignatureError, SigningKey, sign_json, verify_signed_json

JsonDict = dict[str, Any]
KeyLookup = Callable[[str], Mapping[str, str]]  # server name → {key ID: unpadded base64}


class AuthError(ValueError):
    """A request's X-Matrix authorization is missing, malformed or wrong; says which."""


@dataclass(frozen=True)
class XMatrix:
    """The parameters of one X-Matrix Authorization header."""

    origin: str
    destination: str | None
    key_id: str
    signature: str


def signed_request_json(method: str, uri: str, origin: str, destination: str,
                        content: Any = None) -> JsonDict:
    """The object whose signature is the request's signature (content only if there is one)."""
    request: JsonDict = {"method": method, "uri": uri, "origin": origin,
                         "destination": destination}
    if content is not None:
        request["content"] = content
    return request


def authorization(method: str, uri: str, *, origin: str, destination: str, key: SigningKey,
                  content: Any = None) -> str:
    """The `Authorization` header value for a request signed by `origin` with `key`."""
    signed = sign_json(signed_request_json(method, uri, origin, destination, content),
                       origin, key)
    sig = signed["signatures"][origin][key.key_id]
    return (f'X-Matrix origin="{origin}",destination="{destination}",'
            f'key="{key.key_id}",sig="{sig}"')


# RFC 9110 auth-param: token "=" ( token / quoted-string ), with optional whitespace
# around the comma. Bare values may hold colons (the spec asks receivers to allow it).
_PARAM = re.compile(r'[ \t]*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)[ \t]*=[ \t]*'
                    r'("(?:[^"\\]|\\.)*"|[^,"\s]*)[ \t]*(?:,|$)')


def parse_authorization(value: str | None) -> XMatrix:
    """Reads an X-Matrix header as a receiver must; raises `AuthError` saying what is wrong."""
    if not value:
        raise AuthError("there is no Authorization header")
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "x-matrix":
        raise AuthError(f"the Authorization scheme is {scheme!r}, not X-Matrix")
    params: dict[str, str] = {}
    position, rest = 0, rest.strip()
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            raise AuthError(f"the X-Matrix parameters are malformed at {rest[position:]!r}")
        name, raw = match.group(1).lower(), match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(name, raw)
        position = match.end()
    missing = [name for name in ("origin", "key", "sig") if not params.get(name)]
    if missing:
        raise AuthError(f"the X-Matrix header lacks {', '.join(missing)}")
    return XMatrix(params["origin"], params.get("destination"), params["key"], params["sig"])


def check_request(method: str, uri: str, header: str | None, content: Any, *,
                  receiver: str, keys: KeyLookup) -> XMatrix:
    """Checks a received request's signature; returns the header, or raises `AuthError`.

    A `destination` naming another server is refused (401, spec v1.3); a missing one is
    accepted, as the spec tells receivers to, though senders MUST send it.
    """
    auth = parse_authorization(header)
    if auth.destination is not None and auth.destination != receiver:
        raise AuthError(f"destination is {auth.destination!r}, but this server is {receiver!r}")
    try:
        verify_keys = keys(auth.origin)
    except KeyLookupError as error:
        raise AuthError(f"the keys of {auth.origin} could not be fetched: {error}") from None
    if auth.key_id not in verify_keys:
        raise AuthError(f"{auth.origin} does not publish the key {auth.key_id} "
                        f"(it publishes {sorted(verify_keys)})")
    signed = signed_request_json(method, uri, auth.origin, receiver, content)
    signed["signatures"] = {auth.origin: {auth.key_id: auth.signature}}
    try:
        verify_signed_json(signed, auth.origin, {auth.key_id: verify_keys[auth.key_id]})
    except SignatureError as error:
        raise AuthError(f"the signature over {{method: {method}, uri: {uri}, origin: "
                        f"{auth.origin}, destination: {receiver}, content}} does not verify "
                        f"({error})") from None
    return auth


# -- fetching keys -----------------------------------------------------------------------


class KeyLookupError(LookupError):
    """A server's key document could not be fetched or does not hold up."""


def check_key_document(document: Any, server_name: str, *,
                       now_ms: int | None = None) -> dict[str, str]:
    """The current verify keys of a `/_matrix/key/v2/server` answer, once it holds up.

    It must name `server_name`, be signed by that server with one of the keys it lists,
    and not have expired (spec: server-server-api/#publishing-keys).
    """
    if not isinstance(document, dict):
        raise KeyLookupError(f"the key document is not a JSON object: {str(document)[:200]}")
    if document.get("server_name") != server_name:
        raise KeyLookupError(f"the key document is for {document.get('server_name')!r}, "
                             f"not {server_name!r}")
    keys = {kid: entry.get("key") for kid, entry in (document.get("verify_keys") or {}).items()
            if isinstance(entry, dict) and isinstance(entry.get("key"), str)}
    if not keys:
        raise KeyLookupError("the key document lists no verify_keys")
    try:
        verify_signed_json(document, server_name, keys)
    except (SignatureError, ValueError) as error:
        raise KeyLookupError(f"the key document's self-signature does not verify: "
                             f"{error}") from None
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if not isinstance(document.get("valid_until_ts"), int) or document["valid_until_ts"] < now_ms:
        raise KeyLookupError(f"the key document expired (valid_until_ts "
                             f"{document.get('valid_until_ts')!r})")
    return keys


class KeyFetcher:
    """Fetches servers' keys straight from their `/_matrix/key/v2/server`, with a cache.

    `locations` says where a server's federation API answers (server name → base URL);
    other servers are looked up at `fallback`, else at `https://<server name>`. The
    suite's peers use the target's federation URL as the fallback, since the target's
    server name need not resolve to it; two fakes that verify each other list each other.
    """

    def __init__(self, locations: Mapping[str, str] | None = None, *,
                 fallback: str | None = None, verify: ssl.SSLContext | bool = True,
                 timeout: float = 10.0) -> None:
        self.locations = dict(locations or {})
        self.fallback = fallback
        self._verify = verify
        self._timeout = timeout
        self._cache: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def url_of(self, server_name: str) -> str:
        url = self.locations.get(server_name) or self.fallback or f"https://{server_name}"
        return url.rstrip("/")

    def __call__(self, server_name: str) -> dict[str, str]:
        with self._lock:
            if server_name not in self._cache:
                self._cache[server_name] = self._fetch(server_name)
            return self._cache[server_name]

    def _fetch(self, server_name: str) -> dict[str, str]:
        url = self.url_of(server_name) + "/_matrix/key/v2/server"
        try:
            response = httpx.get(url, verify=self._verify, timeout=self._timeout)
        except httpx.HTTPError as error:
            raise KeyLookupError(f"GET {url}: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise KeyLookupError(f"GET {url} answered {response.status_code} {response.text[:200]}")
        try:
            document = response.json()
        except ValueError:
            raise KeyLookupError(f"GET {url} answered non-JSON: {response.text[:200]}") from None
        return check_key_document(document, server_name)
