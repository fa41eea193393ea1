# SPDX-License-Identifier: Apache-2.0
"""A Matrix client for black-box tests: one user's identity, raw and strict calls.

`do()` sends exactly what a test asks and returns the answer, for negative paths. The
named helpers are strict: they fail the test on a non-2xx answer, showing the exchange,
and return what a scenario needs next (a room ID, an event ID). Every answer, raw or
strict, is checked against `api/` by the schema checker before the test sees it.
"""
from __future__ import annotations

import json as jsonlib
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.harness import uia
from tests.harness.assertions import expect_ok
from tests.harness.schema import ResponseChecker, default_checker

JsonDict = dict[str, Any]
CLIENT_V3 = "/_matrix/client/v3"
DEFAULT_TIMEOUT = 30.0
RATE_LIMIT_RETRIES = 10
MAX_RETRY_WAIT = 30.0
MAX_POLL = 5.0  # seconds per long-poll, so a deadline is never overshot by much


def user_id_of(user: Client | str) -> str:
    """Helpers take a user as a Client or a user ID: `alice.ban(room, bob)` reads best."""
    return user.user_id if isinstance(user, Client) else user


def build_path(prefix: str, segments: list[Any]) -> str:
    """`prefix/seg/seg`, each segment escaped whole so that `/`, `#`, `!` stay data."""
    if isinstance(segments, str):
        raise TypeError("path must be a list of segments, e.g. ['rooms', room_id, 'join']")
    return prefix + "".join("/" + quote(str(seg), safe="") for seg in segments)


def retry_delay(response: httpx.Response) -> float:
    """How long a 429 asks us to wait: `retry_after_ms`, else `Retry-After`, else 1 s."""
    try:
        millis = response.json().get("retry_after_ms")
    except (ValueError, AttributeError):
        millis = None
    if isinstance(millis, (int, float)) and millis >= 0:
        return min(millis / 1000.0, MAX_RETRY_WAIT)
    header = response.headers.get("retry-after", "")
    return min(float(header), MAX_RETRY_WAIT) if header.isdigit() else 1.0


def _txn_id() -> str:
    return f"t{time.monotonic_ns()}-{secrets.token_hex(3)}"


def _as_filter(value: JsonDict | str | None) -> str | None:
    return jsonlib.dumps(value) if isinstance(value, dict) else value


class Client:
    """One user on one homeserver. Owns its access token: tests never handle tokens."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        checker: ResponseChecker | None = None,
        registration_token: str | None = None,
        diagnose: Callable[[], str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_id: str | None = None
        self.device_id: str | None = None
        self.access_token: str | None = None
        self.password: str | None = None
        self._http = httpx.Client(base_url=self.base_url, transport=transport,
                                  timeout=DEFAULT_TIMEOUT)
        self._transport = transport
        self._checker = checker
        self._registration_token = registration_token
        self._diagnose = diagnose
        self._since: str | None = None

    def __repr__(self) -> str:
        return f"<Client {self.user_id or 'anonymous'} on {self.base_url}>"

    # -- raw ----------------------------------------------------------------------

    def do(self, method: str, path: list[Any], *, json: Any = None,
           params: dict[str, Any] | None = None, content: bytes | None = None,
           headers: dict[str, str] | None = None, auth: bool = True,
           prefix: str = CLIENT_V3, timeout: float | None = None) -> httpx.Response:
        """Sends one request and returns the answer, whatever its status.

        429 answers are retried after the wait the server asks for (the one sleep the
        suite allows: it is the server's instruction). Every answer is schema-checked.
        """
        url = build_path(prefix, path)
        send_headers = dict(headers or {})
        if auth and self.access_token:
            send_headers.setdefault("Authorization", f"Bearer {self.access_token}")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            response = self._send(method, url, json=json, params=query, content=content,
                                  headers=send_headers, timeout=timeout)
            (self._checker or default_checker()).check(response)
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                return response
            time.sleep(retry_delay(response))
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, *, timeout: float | None,
              **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, timeout=timeout or DEFAULT_TIMEOUT, **kwargs)
        except httpx.TransportError as error:
            problem = f"{type(error).__name__}: {error}"
        # Outside the except block, so the report is this sentence, not a chained traceback.
        extra = self._diagnose() if self._diagnose else ""
        pytest.fail(f"{method} {url}: no answer from {self.base_url} ({problem}){extra}",
                    pytrace=False)

    def _ok(self, doing: str, method: str, path: list[Any], **kwargs: Any) -> JsonDict:
        return expect_ok(self.do(method, path, **kwargs), doing)

    def _sibling(self) -> Client:
        return Client(self.base_url, transport=self._transport, checker=self._checker,
                      registration_token=self._registration_token, diagnose=self._diagnose)

    # -- identity -----------------------------------------------------------------

    def _adopt(self, body: JsonDict) -> None:
        self.user_id = body.get("user_id", self.user_id)
        self.device_id = body.get("device_id", self.device_id)
        self.access_token = body.get("access_token", self.access_token)

    def _auth_for(self, stage: str, session: str | None) -> JsonDict:
        auth: JsonDict = {"type": stage}
        if session is not None:
            auth["session"] = session
        if stage == "m.login.password":
            auth["identifier"] = {"type": "m.id.user", "user": self.user_id}
            auth["password"] = self.password
        elif stage == "m.login.registration_token":
            auth["token"] = self._registration_token
        return auth

    def _stages(self) -> list[str]:
        stages = ["m.login.dummy"]
        if self.password and self.user_id:
            stages.append("m.login.password")
        if self._registration_token:
            stages.append("m.login.registration_token")
        return stages

    def uia_request(self, method: str, path: list[Any], body: JsonDict, *,
                    auth: bool = True) -> httpx.Response:
        """Sends a request guarded by user-interactive auth, completing its stages."""
        def send(auth_dict: JsonDict | None) -> httpx.Response:
            payload = body if auth_dict is None else {**body, "auth": auth_dict}
            return self.do(method, path, json=payload, auth=auth)
        return uia.complete(send, self._auth_for, self._stages())

    def register(self, localpart: str | None = None, password: str | None = None,
                 device_id: str | None = None, **extra: Any) -> JsonDict:
        """Registers a user through the UIA dance and becomes that user."""
        self.password = password or f"pw-{secrets.token_hex(8)}"
        body: JsonDict = {"password": self.password, **extra}
        if localpart is not None:
            body["username"] = localpart
        if device_id is not None:
            body["device_id"] = device_id
        response = self.uia_request("POST", ["register"], body, auth=False)
        result = expect_ok(response, f"register {localpart or 'a user'}")
        self._adopt(result)
        return result

    def login(self, password: str | None = None, device_id: str | None = None,
              **extra: Any) -> JsonDict:
        """Logs in again with the password (a new device unless `device_id` is given).

        `extra` adds body keys, e.g. `initial_device_display_name="phone"`.
        """
        body: JsonDict = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": password or self.password,
            **extra,
        }
        if device_id is not None:
            body["device_id"] = device_id
        result = self._ok(f"log in as {self.user_id}", "POST", ["login"], json=body, auth=False)
        self._adopt(result)
        return result

    def new_device(self, device_id: str | None = None, **extra: Any) -> Client:
        """Another Client for the same user, logged in on a new device (`extra`: see login)."""
        other = self._sibling()
        other.user_id, other.password = self.user_id, self.password
        other.login(device_id=device_id, **extra)
        return other

    def logout(self) -> None:
        self._ok(f"log out {self.user_id}", "POST", ["logout"], json={})
        self.access_token = None

    def whoami(self) -> JsonDict:
        return self._ok("whoami", "GET", ["account", "whoami"])

    def change_password(self, new_password: str, *, logout_devices: bool | None = None) -> None:
        body: JsonDict = {"new_password": new_password}
        if logout_devices is not None:
            body["logout_devices"] = logout_devices
        expect_ok(self.uia_request("POST", ["account", "password"], body),
                  f"change the password of {self.user_id}")
        self.password = new_password

    def deactivate(self) -> None:
        expect_ok(self.uia_request("POST", ["account", "deactivate"], {}),
                  f"deactivate {self.user_id}")
        self.access_token = None

    # -- rooms --------------------------------------------------------------------

    def create_room(self, **body: Any) -> str:
        return self._ok("create a room", "POST", ["createRoom"], json=body)["room_id"]

    def join(self, room: str, via: list[str] | None = None) -> str:
        params = {"via": via, "server_name": via} if via else None
        return self._ok(f"join {room}", "POST", ["join", room], json={}, params=params)["room_id"]

    def _membership(self, action: str, room: str, body: JsonDict) -> None:
        self._ok(f"{action} in {room}", "POST", ["rooms", room, action], json=body)

    def invite(self, room: str, user: Client | str) -> None:
        self._membership("invite", room, {"user_id": user_id_of(user)})

    def leave(self, room: str) -> None:
        self._membership("leave", room, {})

    def kick(self, room: str, user: Client | str, reason: str | None = None) -> None:
        self._membership("kick", room, _with_reason({"user_id": user_id_of(user)}, reason))

    def ban(self, room: str, user: Client | str, reason: str | None = None) -> None:
        self._membership("ban", room, _with_reason({"user_id": user_id_of(user)}, reason))

    def unban(self, room: str, user: Client | str) -> None:
        self._membership("unban", room, {"user_id": user_id_of(user)})

    def forget(self, room: str) -> None:
        self._membership("forget", room, {})

    def send(self, room: str, body: JsonDict, event_type: str = "m.room.message",
             txn_id: str | None = None) -> str:
        path = ["rooms", room, "send", event_type, txn_id or _txn_id()]
        return self._ok(f"send {event_type} to {room}", "PUT", path, json=body)["event_id"]

    def send_state(self, room: str, event_type: str, content: JsonDict,
                   state_key: str = "") -> str:
        path = ["rooms", room, "state", event_type, state_key]
        return self._ok(f"send state {event_type}/{state_key!r} to {room}", "PUT", path,
                        json=content)["event_id"]

    def get_state(self, room: str, event_type: str, state_key: str = "") -> JsonDict:
        path = ["rooms", room, "state", event_type, state_key]
        return self._ok(f"get state {event_type}/{state_key!r} of {room}", "GET", path)

    def room_state(self, room: str) -> list[JsonDict]:
        response = self.do("GET", ["rooms", room, "state"])
        if not 200 <= response.status_code < 300:
            expect_ok(response, f"get the state of {room}")  # fails, showing the exchange
        return response.json()  # a JSON array, which expect_ok would refuse

    def event(self, room: str, event_id: str) -> JsonDict:
        return self._ok(f"get {event_id} in {room}", "GET", ["rooms", room, "event", event_id])

    def redact(self, room: str, event_id: str, reason: str | None = None,
               txn_id: str | None = None) -> str:
        path = ["rooms", room, "redact", event_id, txn_id or _txn_id()]
        return self._ok(f"redact {event_id}", "PUT", path,
                        json=_with_reason({}, reason))["event_id"]

    def messages(self, room: str, dir: str = "b", **params: Any) -> JsonDict:
        """GET /messages; `from_=token` stands for the `from` parameter (a Python keyword)."""
        if "from_" in params:
            params["from"] = params.pop("from_")
        if "filter" in params:
            params["filter"] = _as_filter(params["filter"])
        return self._ok(f"get messages of {room}", "GET", ["rooms", room, "messages"],
                        params={"dir": dir, **params})

    def set_alias(self, alias: str, room: str) -> None:
        self._ok(f"set alias {alias}", "PUT", ["directory", "room", alias], json={"room_id": room})

    def typing(self, room: str, typing: bool = True, timeout: int = 30000) -> None:
        body: JsonDict = {"typing": typing, **({"timeout": timeout} if typing else {})}
        self._ok(f"set typing={typing} in {room}", "PUT",
                 ["rooms", room, "typing", self.user_id], json=body)

    def receipt(self, room: str, event_id: str, receipt_type: str = "m.read") -> None:
        self._ok(f"send a {receipt_type} receipt for {event_id}", "POST",
                 ["rooms", room, "receipt", receipt_type, event_id], json={})

    # -- profile, account data, devices --------------------------------------------

    def set_displayname(self, name: str) -> None:
        self._ok("set the display name", "PUT", ["profile", self.user_id, "displayname"],
                 json={"displayname": name})

    def set_avatar_url(self, uri: str) -> None:
        self._ok("set the avatar", "PUT", ["profile", self.user_id, "avatar_url"],
                 json={"avatar_url": uri})

    def get_profile(self, user: Client | str | None = None) -> JsonDict:
        target = user_id_of(user) if user is not None else self.user_id
        return self._ok(f"get the profile of {target}", "GET", ["profile", target])

    def _account_data_path(self, event_type: str, room: str | None) -> list[Any]:
        if room is None:
            return ["user", self.user_id, "account_data", event_type]
        return ["user", self.user_id, "rooms", room, "account_data", event_type]

    def put_account_data(self, event_type: str, content: JsonDict, room: str | None = None) -> None:
        self._ok(f"put account data {event_type}", "PUT",
                 self._account_data_path(event_type, room), json=content)

    def get_account_data(self, event_type: str, room: str | None = None) -> JsonDict:
        return self._ok(f"get account data {event_type}", "GET",
                        self._account_data_path(event_type, room))

    def devices(self) -> list[JsonDict]:
        return self._ok("list devices", "GET", ["devices"]).get("devices", [])

    def get_device(self, device_id: str) -> JsonDict:
        return self._ok(f"get device {device_id}", "GET", ["devices", device_id])

    def update_device(self, device_id: str, display_name: str) -> None:
        self._ok(f"rename device {device_id}", "PUT", ["devices", device_id],
                 json={"display_name": display_name})

    def delete_device(self, device_id: str) -> None:
        expect_ok(self.uia_request("DELETE", ["devices", device_id], {}),
                  f"delete device {device_id}")

    # -- sync -----------------------------------------------------------------------

    def sync(self, since: str | None = None, timeout: int = 0,
             filter: JsonDict | str | None = None, full_state: bool | None = None) -> JsonDict:
        """One /sync request (`timeout` in ms, as the API has it); strict."""
        params = {"since": since, "timeout": timeout, "filter": _as_filter(filter),
                  "full_state": full_state}
        return self._ok(f"sync as {self.user_id}", "GET", ["sync"], params=params,
                        timeout=timeout / 1000.0 + DEFAULT_TIMEOUT)

    def sync_until(self, *checks: Callable[[JsonDict], str | None], timeout: float = 10.0,
                   filter: JsonDict | str | None = None) -> JsonDict:
        """Long-polls /sync until every check has passed; returns the last body.

        Continues from this client's previous `sync_until` (a fresh client starts with an
        initial sync), so it sees everything that happened since. Each check sees every
        answer in turn and counts as passed once it has passed on any of them; after
        `timeout` seconds the test fails with the reason each pending check gave last.
        """
        deadline = time.monotonic() + timeout
        pending = {index: "no /sync answer yet" for index in range(len(checks))}
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            body = self._next_sync(poll_seconds=min(remaining, MAX_POLL), filter=filter)
            for index in list(pending):
                reason = checks[index](body)
                if reason is None:
                    del pending[index]
                else:
                    pending[index] = reason
            if not pending:
                return body
            if remaining <= 0:
                waiting = "\n".join(f"  - {checks[i]}: {why}" for i, why in pending.items())
                pytest.fail(f"{self.user_id} waited {timeout:g} s on /sync for:\n{waiting}",
                            pytrace=False)

    def _next_sync(self, *, poll_seconds: float, filter: JsonDict | str | None) -> JsonDict:
        poll_ms = 0 if self._since is None else int(poll_seconds * 1000)
        body = self.sync(since=self._since, timeout=poll_ms, filter=filter)
        self._since = body.get("next_batch", self._since)
        return body


def _with_reason(body: JsonDict, reason: str | None) -> JsonDict:
    return {**body, "reason": reason} if reason is not None else body
