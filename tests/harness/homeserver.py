# SPDX-License-Identifier: Apache-2.0
"""The homeserver under test, as the `hs` fixture presents it.

It makes fresh users (`hs.register()`), anonymous clients (`hs.client()`) and knows
what the target advertises (`hs.versions()`). Users are always new and uniquely
named, so tests never share state and can run in parallel and against a long-lived
server repeatedly.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness.assertions import expect_ok
from tests.harness.client import Client
from tests.harness.schema import ResponseChecker

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class RegistrationMode:
    """How test users are made: `open`, `token:T` or `shared-secret:S`."""

    kind: str
    secret: str | None = None

    @classmethod
    def parse(cls, text: str) -> RegistrationMode:
        kind, _, secret = text.partition(":")
        if kind == "open" and not secret:
            return cls("open")
        if kind in ("token", "shared-secret") and secret:
            return cls(kind, secret)
        raise ValueError(f"--registration must be open, token:T or shared-secret:S, not {text!r}")


def make_localpart(worker: str, number: int, nonce: str) -> str:
    """`t-<worker>-<n>-<nonce>`: unique per worker and run, and valid in any user ID."""
    worker = re.sub(r"[^a-z0-9._=-]", "-", worker.lower())
    return f"t-{worker}-{number}-{nonce}"


class Localparts:
    """Fresh localparts for this process: xdist worker id, a counter, a random part."""

    def __init__(self, worker: str | None = None) -> None:
        self._worker = worker or os.environ.get("PYTEST_XDIST_WORKER", "main")
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return make_localpart(self._worker, next(self._counter), secrets.token_hex(2))


class Homeserver:
    """One target homeserver; session-scoped per worker."""

    def __init__(
        self,
        base_url: str,
        *,
        checker: ResponseChecker | None = None,
        server_name: str | None = None,
        registration: RegistrationMode = RegistrationMode("open"),
        federation_url: str | None = None,
        diagnose: Callable[[], str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.federation_url = federation_url
        self.registration = registration
        self._server_name = server_name
        self._checker = checker
        self._diagnose = diagnose
        # One connection pool for every Client of this server: clients stay isolated
        # by their tokens, and hundreds of users per worker do not hold hundreds of sockets.
        self._transport = httpx.HTTPTransport(retries=0)
        self._localparts = Localparts()
        self._versions: JsonDict | None = None

    def __repr__(self) -> str:
        return f"<Homeserver {self.base_url}>"

    def client(self) -> Client:
        """An anonymous client (no user, no token)."""
        token = self.registration.secret if self.registration.kind == "token" else None
        return Client(self.base_url, transport=self._transport, checker=self._checker,
                      registration_token=token, diagnose=self._diagnose)

    def register(self, localpart: str | None = None, *, password: str | None = None,
                 device_id: str | None = None, **extra: Any) -> Client:
        """A client logged in as a brand-new user (a unique localpart unless given)."""
        client = self.client()
        localpart = localpart or self._localparts()
        if self.registration.kind == "shared-secret":
            _register_with_shared_secret(client, localpart, password, self.registration.secret)
        else:
            client.register(localpart, password, device_id, **extra)
        if self._server_name is None and client.user_id:
            self._server_name = client.user_id.split(":", 1)[1]
        return client

    @property
    def server_name(self) -> str:
        """The target's server name: given, or learned from a registered user's ID."""
        if self._server_name is None:
            self.register()
        assert self._server_name is not None
        return self._server_name

    def versions(self) -> JsonDict:
        """GET /_matrix/client/versions, asked once per process."""
        if self._versions is None:
            response = self.client().do("GET", ["versions"], prefix="/_matrix/client", auth=False)
            self._versions = expect_ok(response, "ask the target which versions it supports")
        return self._versions

    def close(self) -> None:
        self._transport.close()


def _register_with_shared_secret(client: Client, localpart: str, password: str | None,
                                 secret: str | None) -> None:
    """Synapse's admin registration (HMAC over a nonce), for servers with closed sign-up.

    Not a Matrix API: its requests are recorded as unknown operations, not validated.
    """
    prefix = "/_synapse/admin/v1"
    nonce = expect_ok(client.do("GET", ["register"], prefix=prefix, auth=False),
                      "get a registration nonce")["nonce"]
    client.password = password or f"pw-{secrets.token_hex(8)}"
    message = b"\x00".join([nonce.encode(), localpart.encode(), client.password.encode(),
                            b"notadmin"])
    mac = hmac.new((secret or "").encode(), message, hashlib.sha1).hexdigest()
    body = {"nonce": nonce, "username": localpart, "password": client.password,
            "mac": mac, "admin": False}
    result = expect_ok(client.do("POST", ["register"], prefix=prefix, json=body, auth=False),
                       f"register {localpart} with the shared secret")
    client.user_id = result["user_id"]
    client.device_id = result.get("device_id")
    client.access_token = result.get("access_token")
    if client.access_token is None:
        pytest.fail(f"shared-secret registration of {localpart} returned no access token")
