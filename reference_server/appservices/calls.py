# SPDX-License-Identifier: Apache-2.0
"""Calls this server makes to application services: ping, user and alias queries.

Spec (application service API): a ping reports how the service answered (client-server
`POST /appservice/{id}/ping`); queries ask a service whether a user or alias in its
namespace exists, giving it the chance to create it first.
"""
from __future__ import annotations

import time
from urllib.parse import quote

import httpx

from .. import errors
from ..types import JsonDict
from .registration import AppService


class AppServiceCalls:
    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_s)

    async def ping(self, service: AppService, transaction_id: str | None) -> JsonDict:
        if not service.url:
            raise errors.MatrixError(400, "M_URL_NOT_SET", "This service has no URL.")
        body = {"transaction_id": transaction_id} if transaction_id is not None else {}
        started = time.monotonic()
        try:
            answer = await self._http.post(
                f"{service.url.rstrip('/')}/_matrix/app/v1/ping", json=body,
                headers={"Authorization": f"Bearer {service.hs_token}"})
        except httpx.TimeoutException:
            raise errors.MatrixError(504, "M_CONNECTION_TIMEOUT",
                                     "The application service did not answer in time.") from None
        except httpx.HTTPError as error:
            raise errors.MatrixError(502, "M_CONNECTION_FAILED",
                                     f"Could not reach the application service: {error}") from None
        if not 200 <= answer.status_code < 300:
            raise errors.MatrixError(502, "M_BAD_STATUS", "The application service answered "
                                     f"{answer.status_code}.", status=answer.status_code,
                                     body=answer.text[:1000])
        return {"duration_ms": int((time.monotonic() - started) * 1000)}

    async def third_party(self, service: AppService, path: str,
                          query: dict[str, list[str]]) -> object | None:
        """Pass a third-party lookup on to a service; None when it fails or says no."""
        if not service.url:
            return None
        params = [(k, v) for k, values in query.items() if k != "access_token" for v in values]
        try:
            answer = await self._http.get(
                f"{service.url.rstrip('/')}/_matrix/app/v1/thirdparty/{path}", params=params,
                headers={"Authorization": f"Bearer {service.hs_token}"})
        except httpx.HTTPError:
            return None
        if not 200 <= answer.status_code < 300:
            return None
        try:
            return answer.json()
        except ValueError:
            return None

    async def user_exists(self, service: AppService, user_id: str) -> bool:
        return await self._query(service, f"/_matrix/app/v1/users/{quote(user_id, safe='')}")

    async def alias_exists(self, service: AppService, alias: str) -> bool:
        return await self._query(service, f"/_matrix/app/v1/rooms/{quote(alias, safe='')}")

    async def _query(self, service: AppService, path: str) -> bool:
        if not service.url:
            return False
        try:
            answer = await self._http.get(service.url.rstrip("/") + path,
                                          headers={"Authorization": f"Bearer {service.hs_token}"})
        except httpx.HTTPError:
            return False
        return 200 <= answer.status_code < 300


class AppServiceQueries:
    """Before a user or alias of this server is used, ask the service whose namespace
    holds it if it is unknown, so that the service can create it first (application
    service API, querying: an invite of an unknown user, a join by an unknown alias)."""

    def __init__(self, *, registry, calls: AppServiceCalls, is_local, user_exists,
                 alias_exists) -> None:
        self._registry = registry
        self._calls = calls
        self._is_local = is_local
        self._user_exists = user_exists
        self._alias_exists = alias_exists

    async def user(self, user_id: str) -> None:
        owner = self._registry.user_owner(user_id)
        if owner is not None and self._is_local(user_id) and not self._user_exists(user_id):
            await self._calls.user_exists(owner, user_id)

    async def alias(self, alias: str) -> None:
        owner = self._registry.alias_owner(alias)
        if owner is not None and self._is_local(alias) and not self._alias_exists(alias):
            await self._calls.alias_exists(owner, alias)


async def ask_then_retry(lookup, owner: AppService | None, ask) -> object:
    """Run `lookup`; if it finds nothing and a service owns the name, ask the service
    (which may create the user or alias) and look again (application service API, querying)."""
    try:
        return lookup()
    except errors.MatrixError as error:
        if error.status != 404 or owner is None or not await ask(owner):
            raise
    return lookup()
