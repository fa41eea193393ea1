# SPDX-License-Identifier: Apache-2.0
"""The ASGI application: route, authenticate, validate, call the handler, answer.

Everything a client can get wrong is caught here and answered with the spec's error, so
no bad input reaches a handler and no exception escapes as a bare 500.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from .. import errors
from ..errors import MatrixError
from .request import Request, Requester, Response
from .routing import Route, RouteTable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024 * 8

CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, DELETE, OPTIONS"),
    (b"access-control-allow-headers", b"X-Requested-With, Content-Type, Authorization"),
]

# Resolves an access token (with the query string, for application service masquerading).
Authenticator = Callable[[str, dict[str, list[str]]], Awaitable[Requester | None]]
# Checks a federation request's X-Matrix signature; returns the origin server name.
ServerAuthenticator = Callable[[str | None, str, str, Any], Awaitable[str]]
RateLimiter = Callable[[Route, Request], None]


class MatrixApp:
    """An ASGI callable serving one route table."""

    def __init__(
        self, routes: RouteTable, *, authenticate: Authenticator, rate_limit: RateLimiter,
        authenticate_server: ServerAuthenticator | None = None,
        max_upload_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._max_upload_bytes = max_upload_bytes
        self._routes = routes
        self._authenticate = authenticate
        self._authenticate_server = authenticate_server
        self._rate_limit = rate_limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, body, headers = await self._answer(scope, receive)
        if isinstance(body, bytes):
            await _send_bytes(send, status, body, headers)
        else:
            await _send_json(send, status, body, headers)

    async def _answer(self, scope: dict, receive: Callable) -> tuple[int, Any, dict[str, str]]:
        method = scope["method"]
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if method == "OPTIONS":
            return 200, {}, {}
        try:
            route, raw_params, path_known = self._routes.match(method, path)
            if route is None:
                if path_known:
                    raise errors.unrecognized(f"{method} is not allowed on {path}.", status=405)
                raise errors.unrecognized(f"No endpoint at {path}.")
            request = await self._parse(route, raw_params, scope, receive)
            self._rate_limit(route, request)
            result = await route.handler(request)
        except MatrixError as error:
            return error.status, error.to_json(), error.headers
        except Exception:  # noqa: BLE001 — the one place that turns bugs into 500s
            log.exception("unhandled error on %s %s", method, path)
            return 500, {"errcode": "M_UNKNOWN", "error": "Internal server error."}, {}
        if isinstance(result, Response):
            return result.status, result.body, result.headers
        return 200, result, {}

    async def _parse(
        self, route: Route, raw_params: dict[str, str], scope: dict, receive: Callable
    ) -> Request:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query = parse_qs(raw_query, keep_blank_values=True)
        validator = route.validator
        # Read (and drop) a body even where none is documented: one left unread would
        # cost the client its keep-alive connection.
        limit = self._max_upload_bytes if validator.takes_raw_body else MAX_BODY_BYTES
        raw_body = await _read_body(receive, limit)
        origin = None
        if "signedRequest" in route.operation.security_schemes:
            origin = await self._origin(route, scope, headers, raw_query,
                                        raw_body if validator.has_body else b"")
            requester = None
        else:
            requester = await self._requester(route, headers, query)
        path_values = validator.path_params(raw_params)
        query_values = validator.query_params(query)
        body = validator.body(raw_body)
        client = scope.get("client") or ("", 0)
        return Request(
            operation_id=route.operation.operation_id,
            body=body,
            path=path_values,
            query=query_values,
            requester=requester,
            client_ip=client[0],
            headers=headers,
            origin=origin,
            raw_query=query,
            raw_body=raw_body if validator.takes_raw_body else b"",
        )

    async def _origin(self, route: Route, scope: dict, headers: dict[str, str], raw_query: str,
                      raw_body: bytes) -> str:
        """The federation peer that signed this request (X-Matrix), or 401 M_UNAUTHORIZED."""
        if self._authenticate_server is None:
            raise errors.unrecognized("Federation is not enabled on this listener.")
        try:
            content = json.loads(raw_body) if raw_body.strip() else None
        except ValueError:
            raise errors.not_json() from None
        uri = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if raw_query:
            uri += "?" + raw_query
        return await self._authenticate_server(headers.get("authorization"),
                                               route.operation.method, uri, content)

    async def _requester(
        self, route: Route, headers: dict[str, str], query: dict[str, list[str]]
    ) -> Requester | None:
        auth = route.operation.auth
        if auth == "none":
            return None
        token = _access_token(headers, query)
        if token is None:
            if auth == "required":
                raise errors.missing_token()
            return None
        requester = await self._authenticate(token, query)
        if requester is None:
            raise errors.unknown_token()
        return requester


def _access_token(headers: dict[str, str], query: dict[str, list[str]]) -> str | None:
    header = headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        raise errors.missing_token()
    values = query.get("access_token")
    return values[-1] if values else None


async def _read_body(receive: Callable, limit: int = MAX_BODY_BYTES) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise errors.too_large(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(send: Callable, status: int, body: Any, headers: dict[str, str]) -> None:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *CORS_HEADERS,
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def _send_bytes(send: Callable, status: int, body: bytes, headers: dict[str, str]) -> None:
    """A non-JSON answer (media): the handler's headers name its Content-Type."""
    raw_headers = [
        (b"content-length", str(len(body)).encode()),
        *CORS_HEADERS,
        *((k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Callable, send: Callable) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
