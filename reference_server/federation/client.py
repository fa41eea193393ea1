# SPDX-License-Identifier: Apache-2.0
"""Outbound federation HTTP: discovery, TLS policy, address policy, X-Matrix signing.

Every request to another homeserver goes through `FederationClient.request`, so the
rules the config sets (verify TLS or not, an extra CA, whether private and loopback
addresses may be reached) hold everywhere.
"""
from __future__ import annotations

import ipaddress
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import trio

from ..protocol.signing import SigningKey
from .discovery import Destination, is_ip_literal, resolve_server_name
from .request_auth import sign_request


class FederationError(Exception):
    """A remote server could not be reached or answered with an error."""

    def __init__(self, message: str, *, status: int | None = None,
                 body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class FederationClient:
    def __init__(self, *, server_name: str, key: SigningKey, verify_tls: bool,
                 ca_file: Path | None, allow_private_addresses: bool) -> None:
        self._server_name = server_name
        self._key = key
        self._allow_private = allow_private_addresses
        self._http = httpx.AsyncClient(verify=_tls_context(verify_tls, ca_file), timeout=30,
                                       follow_redirects=False)
        self._destinations: dict[str, Destination] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, destination: str, path: str, *,
                      query: dict[str, Any] | None = None, body: Any = None,
                      signed: bool = True, timeout: float = 30) -> Any:
        """Send one request and return its JSON answer; FederationError on any failure."""
        response = await self._send(method, destination, path, query=query, body=body,
                                    signed=signed, timeout=timeout)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            raise FederationError(f"{destination} answered {response.status_code}",
                                  status=response.status_code, body=answer)
        return answer

    async def request_bytes(self, method: str, destination: str, path: str, *,
                            query: dict[str, Any] | None = None, signed: bool = True,
                            timeout: float = 30) -> tuple[httpx.Headers, bytes]:
        """Send one request whose answer is not JSON (media); its headers and bytes.
        FederationError on any failure, with the error body when it is JSON."""
        response = await self._send(method, destination, path, query=query, body=None,
                                    signed=signed, timeout=timeout)
        if response.status_code >= 400:
            try:
                answer = response.json()
            except ValueError:
                answer = None
            raise FederationError(f"{destination} answered {response.status_code}",
                                  status=response.status_code, body=answer)
        return response.headers, response.content

    async def fetch_url(self, url: str, *, timeout: float = 30) -> tuple[httpx.Headers, bytes]:
        """An unsigned GET of a URL another server handed us (a media `Location`), under
        the same address and TLS policy as federation requests."""
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise FederationError(f"not an HTTP URL: {url!r}")
        await self._check_address(parsed.host)
        try:
            response = await self._http.get(url, timeout=timeout)
        except httpx.HTTPError as error:
            raise FederationError(f"{url} unreachable: {error}") from None
        if response.status_code >= 400:
            raise FederationError(f"{url} answered {response.status_code}",
                                  status=response.status_code)
        return response.headers, response.content

    async def _send(self, method: str, destination: str, path: str, *,
                    query: dict[str, Any] | None, body: Any, signed: bool,
                    timeout: float) -> httpx.Response:
        target = await self._resolve(destination)
        uri = path + ("?" + urlencode(query, doseq=True) if query else "")
        headers = {"Host": target.host_header}
        if signed:
            headers["Authorization"] = sign_request(method, uri, origin=self._server_name,
                                                    destination=destination, content=body,
                                                    key=self._key)
        content = json.dumps(body).encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method, target.base_url + uri, content=content, headers=headers, timeout=timeout,
                extensions={"sni_hostname": target.tls_name})
        except httpx.HTTPError as error:
            raise FederationError(f"{destination} unreachable: {error}") from None
        return response

    async def _resolve(self, server_name: str) -> Destination:
        cached = self._destinations.get(server_name)
        if cached is not None:
            return cached
        destination = await resolve_server_name(server_name, fetch_well_known=self._well_known)
        await self._check_address(destination.connect_host)
        self._destinations[server_name] = destination
        return destination

    async def _well_known(self, host: str) -> bytes | None:
        try:
            await self._check_address(host)
            response = await self._http.get(f"https://{host}/.well-known/matrix/server",
                                            timeout=5)
        except (httpx.HTTPError, FederationError):
            return None
        return response.content if response.status_code == 200 else None

    async def _check_address(self, host: str) -> None:
        """Refuse private, loopback and link-local destinations unless the config allows them."""
        if self._allow_private:
            return
        if is_ip_literal(host):
            addresses = [host]
        else:
            try:
                infos = await trio.socket.getaddrinfo(host, None)
            except OSError as error:
                raise FederationError(f"cannot resolve {host}: {error}") from None
            addresses = [info[4][0] for info in infos]
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
                raise FederationError(f"{host} resolves to a non-public address ({address}); "
                                      "set [federation] allow_private_addresses = true to allow")


def _tls_context(verify: bool, ca_file: Path | None) -> ssl.SSLContext | bool:
    if not verify:
        return False
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context
