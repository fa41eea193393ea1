# SPDX-License-Identifier: Apache-2.0
"""The fake peer as a client of the target's federation API.

`do()` sends exactly what a test asks, signed or not, with the key, origin and
destination the test chooses, for the negative paths of request authentication. The
named helpers are strict, like the client-server ones: they sign properly, fail the
test on a non-2xx answer and return what the scenario needs next. Every answer is
checked against `api/` before the test sees it.

Spec: server-server-api/#request-authentication, #joining-rooms, #transactions.
"""
from __future__ import annotations

import ipaddress
import secrets
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.harness.assertions import expect_ok
from tests.harness.client import build_path
from tests.harness.crypto import SigningKey, compute_event_id, sign_event
from tests.harness.federation_auth import KeyLookupError, authorization, check_key_document
from tests.harness.federation_routes import FEDERATION_V1, FEDERATION_V2, KEY_V2
from tests.harness.schema import ResponseChecker, default_checker

if TYPE_CHECKING:
    from tests.harness.federation_server import FakeHomeserver

JsonDict = dict[str, Any]
DEFAULT_TIMEOUT = 30.0
# The room versions whose events the suite can build and check (IDs are hashes).
SUPPORTED_VERSIONS = tuple(str(n) for n in range(3, 13))


@dataclass(frozen=True)
class FederationTarget:
    """The server under test as a federation peer: where it answers, and its name."""

    base_url: str
    server_name: str
    verify: ssl.SSLContext | bool = False


@dataclass(frozen=True)
class Joined:
    """The outcome of a remote join: the signed join event and the room it opened."""

    room_id: str
    room_version: str
    event_id: str
    event: JsonDict
    state: list[JsonDict]
    auth_chain: list[JsonDict]


# -- finding the target ------------------------------------------------------------------


def _split_server_name(server_name: str) -> tuple[str, int | None]:
    host, sep, port = server_name.rpartition(":")
    if not sep or host.endswith(":") or (host.startswith("[") is not host.endswith("]")):
        return server_name, None  # no port (or a bare IPv6 literal)
    return host, int(port) if port.isdigit() else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def federation_url_for(server_name: str, *, verify: ssl.SSLContext | bool = True,
                       timeout: float = 5.0) -> str:
    """Where a server name's federation API answers (server-server-api/#resolving-server-names).

    An IP literal or an explicit port is used as is; otherwise `/.well-known/matrix/server`
    may delegate; else port 8448. SRV records are not looked up: give `--federation-url`.
    """
    host, port = _split_server_name(server_name)
    if port is None and not _is_ip(host):
        delegated = _well_known(server_name, verify=verify, timeout=timeout)
        if delegated:
            server_name, port = delegated, _split_server_name(delegated)[1]
    return f"https://{server_name}" if port is not None else f"https://{server_name}:8448"


def _well_known(server_name: str, *, verify: ssl.SSLContext | bool, timeout: float) -> str | None:
    try:
        response = httpx.get(f"https://{server_name}/.well-known/matrix/server",
                             verify=verify, timeout=timeout, follow_redirects=True)
        delegated = response.json().get("m.server") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return delegated if isinstance(delegated, str) and delegated else None


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_verification(option: str | None, url: str) -> bool:
    """`--federation-verify-tls`: yes, no, or auto (verify unless the target is loopback)."""
    value = (option or "auto").strip().lower()
    if value in ("yes", "true", "1", "on"):
        return True
    if value in ("no", "false", "0", "off"):
        return False
    if value == "auto":
        return not is_loopback(url)
    raise ValueError(f"--federation-verify-tls must be yes, no or auto, not {option!r}")


# -- the client --------------------------------------------------------------------------


class FederationClient:
    """Signed requests from one server identity (usually a fake peer) to the target."""

    def __init__(self, target: FederationTarget, *, origin: str, key: SigningKey,
                 peer: FakeHomeserver | None = None, checker: ResponseChecker | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.target = target
        self.origin = origin
        self.key = key
        self.peer = peer
        self.destination = target.server_name
        self._checker = checker
        self._http = httpx.Client(base_url=target.base_url.rstrip("/"), verify=target.verify,
                                  timeout=timeout)
        self.room_versions: dict[str, str] = {}

    @classmethod
    def for_peer(cls, peer: FakeHomeserver, target: FederationTarget,
                 **options: Any) -> FederationClient:
        return cls(target, origin=peer.server_name, key=peer.key, peer=peer, **options)

    def __repr__(self) -> str:
        return f"<FederationClient {self.origin} → {self.destination} at {self.target.base_url}>"

    def close(self) -> None:
        self._http.close()

    # -- raw -------------------------------------------------------------------------------

    def do(self, method: str, path: list[Any], *, json: Any = None,
           params: dict[str, Any] | None = None, prefix: str = FEDERATION_V1,
           sign: bool = True, key: SigningKey | None = None, origin: str | None = None,
           destination: str | None = None, content: bytes | None = None,
           headers: dict[str, str] | None = None) -> httpx.Response:
        """Sends one request and returns the answer, whatever its status.

        Signed with X-Matrix unless `sign=False`; `key`, `origin` and `destination`
        replace this client's own in both the header and the signed JSON, for tests of
        requests the target must refuse. `content` sends raw bytes (signed as no body).
        """
        query = httpx.QueryParams({k: v for k, v in (params or {}).items() if v is not None})
        url = build_path(prefix, path) + (f"?{query}" if query else "")
        send_headers = dict(headers or {})
        request = self._http.build_request(method, url, json=json, content=content,
                                           headers=send_headers)
        if sign:
            uri = request.url.raw_path.decode("ascii")
            request.headers["Authorization"] = authorization(
                method, uri, origin=origin or self.origin,
                destination=destination or self.destination, key=key or self.key,
                content=json if content is None else None)
        try:
            response = self._http.send(request)
        except httpx.TransportError as error:
            problem = f"{type(error).__name__}: {error}"
        else:
            (self._checker or default_checker()).check(response)
            return response
        pytest.fail(f"{method} {url}: no answer from the target's federation API at "
                    f"{self.target.base_url} ({problem})", pytrace=False)

    def _ok(self, doing: str, method: str, path: list[Any], **kwargs: Any) -> JsonDict:
        return expect_ok(self.do(method, path, **kwargs), doing)

    # -- keys and discovery ---------------------------------------------------------------

    def get_server_keys(self) -> JsonDict:
        """GET /_matrix/key/v2/server (unsigned): the target's published keys."""
        return self._ok("get the target's server keys", "GET", ["server"], prefix=KEY_V2,
                        sign=False)

    def target_keys(self) -> dict[str, str]:
        """The target's verify keys, after checking its key document holds up."""
        try:
            return check_key_document(self.get_server_keys(), self.destination)
        except KeyLookupError as error:
            pytest.fail(f"the target's /_matrix/key/v2/server answer: {error}", pytrace=False)

    def get_version(self) -> JsonDict:
        return self._ok("get the target's version", "GET", ["version"], sign=False)

    def query_directory(self, alias: str) -> JsonDict:
        return self._ok(f"resolve {alias}", "GET", ["query", "directory"],
                        params={"room_alias": alias})

    def query_profile(self, user_id: str, field: str | None = None) -> JsonDict:
        return self._ok(f"get the profile of {user_id}", "GET", ["query", "profile"],
                        params={"user_id": user_id, "field": field})

    # -- joining and inviting -------------------------------------------------------------

    def remember_room_version(self, room_id: str, version: str) -> None:
        """Notes a room's version, here and in the peer (which checks the room's PDUs)."""
        self.room_versions[room_id] = version
        if self.peer is not None:
            self.peer.room_versions[room_id] = version

    def make_join(self, room_id: str, user_id: str,
                  versions: Iterable[str] = SUPPORTED_VERSIONS) -> JsonDict:
        body = self._ok(f"make_join {user_id} in {room_id}", "GET",
                        ["make_join", room_id, user_id], params={"ver": list(versions)})
        self.remember_room_version(room_id, body.get("room_version", "1"))
        return body

    def send_join(self, room_id: str, event: JsonDict, *,
                  room_version: str | None = None) -> JsonDict:
        version = room_version or self.room_versions[room_id]
        event_id = compute_event_id(event, version)
        return self._ok(f"send_join {event_id} to {room_id}", "PUT",
                        ["send_join", room_id, event_id], json=event, prefix=FEDERATION_V2)

    def join(self, room_id: str, user_id: str,
             versions: Iterable[str] = SUPPORTED_VERSIONS) -> Joined:
        """The whole remote join of `user_id` (one of ours): make_join, sign, send_join."""
        template = self.make_join(room_id, user_id, versions)
        version = template.get("room_version", "1")
        if version not in SUPPORTED_VERSIONS:
            pytest.fail(f"make_join answered room version {version!r}, which the suite "
                        f"cannot build events for", pytrace=False)
        event = self._checked_template(template.get("event") or {}, room_id, user_id)
        event.update(origin=self.origin, origin_server_ts=int(time.time() * 1000))
        event = sign_event(event, self.origin, self.key, version)
        answer = self.send_join(room_id, event, room_version=version)
        return Joined(room_id, version, compute_event_id(event, version),
                      answer.get("event", event), answer["state"], answer["auth_chain"])

    def _checked_template(self, event: JsonDict, room_id: str, user_id: str) -> JsonDict:
        """The spec's checks on a make_join template (the joining server MUST verify them)."""
        expected = {"type": "m.room.member", "room_id": room_id, "sender": user_id,
                    "state_key": user_id}
        wrong = {k: event.get(k) for k, v in expected.items() if event.get(k) != v}
        if (event.get("content") or {}).get("membership") != "join":
            wrong["content.membership"] = (event.get("content") or {}).get("membership")
        if wrong:
            pytest.fail(f"make_join for {user_id} in {room_id} answered a template with "
                        f"wrong fields {wrong} (expected {expected}, membership join)",
                        pytrace=False)
        return dict(event)

    def invite(self, room_id: str, event: JsonDict, room_version: str,
               invite_room_state: list[JsonDict] | None = None) -> JsonDict:
        """PUT /v2/invite: returns the invite event countersigned by the target."""
        event_id = compute_event_id(event, room_version)
        body = {"event": event, "room_version": room_version,
                "invite_room_state": invite_room_state or []}
        return self._ok(f"invite via {event_id}", "PUT", ["invite", room_id, event_id],
                        json=body, prefix=FEDERATION_V2)["event"]

    # -- transactions and room history ----------------------------------------------------

    def send_transaction(self, pdus: Iterable[JsonDict] = (), edus: Iterable[JsonDict] = (),
                         *, txn_id: str | None = None) -> JsonDict:
        """PUT /send/{txnId}; returns the per-PDU results (`{"pdus": {event_id: {}}}`)."""
        body: JsonDict = {"origin": self.origin, "origin_server_ts": int(time.time() * 1000),
                          "pdus": list(pdus)}
        edus = list(edus)
        if edus:
            body["edus"] = edus
        txn_id = txn_id or f"t{time.time_ns()}{secrets.token_hex(2)}"
        return self._ok(f"send transaction {txn_id}", "PUT", ["send", txn_id], json=body)

    def get_event(self, event_id: str) -> JsonDict:
        """GET /event/{eventId}: the one PDU the answer must hold."""
        pdus = self._ok(f"get {event_id}", "GET", ["event", event_id]).get("pdus", [])
        if len(pdus) != 1:
            pytest.fail(f"GET /event/{event_id} answered {len(pdus)} PDUs, not one",
                        pytrace=False)
        return pdus[0]

    def get_state(self, room_id: str, event_id: str) -> JsonDict:
        return self._ok(f"get the state of {room_id} at {event_id}", "GET", ["state", room_id],
                        params={"event_id": event_id})

    def get_state_ids(self, room_id: str, event_id: str) -> JsonDict:
        return self._ok(f"get the state IDs of {room_id} at {event_id}", "GET",
                        ["state_ids", room_id], params={"event_id": event_id})

    def backfill(self, room_id: str, event_ids: Iterable[str], limit: int = 10) -> list[JsonDict]:
        return self._ok(f"backfill {room_id}", "GET", ["backfill", room_id],
                        params={"v": list(event_ids), "limit": limit})["pdus"]

    def get_missing_events(self, room_id: str, earliest: Iterable[str], latest: Iterable[str],
                           *, limit: int = 10, min_depth: int = 0) -> list[JsonDict]:
        body = {"earliest_events": list(earliest), "latest_events": list(latest),
                "limit": limit, "min_depth": min_depth}
        return self._ok(f"get missing events of {room_id}", "POST",
                        ["get_missing_events", room_id], json=body)["events"]
