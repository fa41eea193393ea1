# SPDX-License-Identifier: Apache-2.0
"""One test's window on the run's fake application service: the `appservice` fixture.

It gives the test the registration's identities and tokens, clients that act as the
service (`as_client`), fresh users and aliases in the service's namespaces, what the
service received about the test (`appservice_records.py` decides what is the test's),
and ways to wish for answers. Wishes go into the spool as control files keyed by the
test's own IDs. Callbacks (`create=`, `on_transaction`) cannot run in the service's
process, so a watcher thread of the test's process long-polls the service, runs a
callback when its record arrives, and posts the answer back.

Faults about the test fail `wait_for` at once and the test at teardown, as the fake
federation peers do.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.harness.appservice_records import Query, Records, Transaction
from tests.harness.appservice_spool import Spool
from tests.harness.assertions import expect_ok
from tests.harness.client import Client
from tools.appservice_registration import namespace_prefix

if TYPE_CHECKING:
    from tests.harness.homeserver import Homeserver

JsonDict = dict[str, Any]
MAX_POLL = 5.0  # seconds per long poll; a deadline is never overshot by more
UNSTABLE_DEVICE_PARAM = "org.matrix.msc3202.device_id"  # MSC4326's unstable name
_views = itertools.count(1)


def new_tag() -> str:
    """Unique per test and run: the xdist worker, a counter and a random part."""
    worker = re.sub(r"[^a-z0-9]", "", os.environ.get("PYTEST_XDIST_WORKER", "main").lower())
    return f"{worker}-{next(_views)}-{secrets.token_hex(2)}"


class AppServiceClient(Client):
    """A client holding the as_token that asserts one identity on every request.

    `user_id` and `device_id` become the identity-assertion query parameters (spec:
    application-service-api/#identity-assertion; `device_id` since v1.17, MSC4326, also
    sent under its unstable name). It shares the homeserver's connection pool.
    """

    assertion: dict[str, str]

    @classmethod
    def wrapping(cls, client: Client, *, as_token: str, user_id: str,
                 asserted_user: str | None, device_id: str | None) -> AppServiceClient:
        # Client has no hook for query parameters on every request; a subclass made from
        # a configured Client keeps whatever that Client was given (pool, checker, ...).
        wrapped = cls.__new__(cls)
        wrapped.__dict__.update(vars(client))
        wrapped.access_token, wrapped.user_id, wrapped.device_id = as_token, user_id, device_id
        wrapped.assertion = {"user_id": asserted_user} if asserted_user else {}
        if device_id:
            wrapped.assertion.update({"device_id": device_id, UNSTABLE_DEVICE_PARAM: device_id})
        return wrapped

    def do(self, method: str, path: list[Any], *, params: dict[str, Any] | None = None,
           auth: bool = True, **kwargs: Any) -> httpx.Response:
        if auth:
            params = {**self.assertion, **(params or {})}
        return super().do(method, path, params=params, auth=auth, **kwargs)


class AppServiceView:
    """What the `appservice` fixture gives a test."""

    def __init__(self, spool: Spool, homeserver: Homeserver, *, tag: str | None = None) -> None:
        meta = spool.meta()
        self.spool, self.hs = spool, homeserver
        self.registration: JsonDict = meta["registration"]
        self.id: str = self.registration["id"]
        self.as_token: str = self.registration["as_token"]
        self.hs_token: str = self.registration["hs_token"]
        self.sender_localpart: str = self.registration["sender_localpart"]
        self.namespaces: JsonDict = self.registration["namespaces"]
        self.url: str = meta["control_url"]  # where the service listens, seen from here
        self.tag = tag or new_tag()
        self._counter = itertools.count(1)
        self._headers = {"Authorization": f"Bearer {meta['control_token']}"}
        self._http = httpx.Client(base_url=self.url, headers=self._headers,
                                  timeout=MAX_POLL + 10)
        self._controls: list[tuple[str, str]] = []
        self._asks: dict[tuple[str, str], Callable[[str], Any]] = {}
        self._on_transaction: list[Callable[[Transaction], Any]] = []
        self._faults: list[str] = []  # from this test's callbacks, on the watcher thread
        self._faults_shown = 0
        self._watcher: threading.Thread | None = None
        self._stopping = threading.Event()
        try:
            now = self._long_poll(self._http, after=-1, timeout=0)
        except (httpx.HTTPError, ValueError, KeyError) as error:
            pytest.fail(self._unreachable(error), pytrace=False)
        self._wakes_at_start = now["wakes"]
        self.records = Records(spool, self.tag, start=now["count"])

    def __repr__(self) -> str:
        return f"<AppServiceView {self.id} tag={self.tag}>"

    # -- identities -------------------------------------------------------------------------

    @property
    def sender(self) -> str:
        """The service's own user, `@<sender_localpart>:<server name>`."""
        return f"@{self.sender_localpart}:{self.hs.server_name}"

    def fresh_user_localpart(self, *, exclusive: bool = True) -> str:
        """A new localpart in the exclusive users namespace (or the shared one)."""
        return f"{self._prefix('users', exclusive)}{self.tag}_{next(self._counter)}"

    def fresh_user_id(self, *, exclusive: bool = True) -> str:
        return f"@{self.fresh_user_localpart(exclusive=exclusive)}:{self.hs.server_name}"

    def fresh_alias(self) -> str:
        """A new alias in the exclusive aliases namespace."""
        prefix = self._prefix("aliases", True)
        return f"#{prefix}{self.tag}_{next(self._counter)}:{self.hs.server_name}"

    def _prefix(self, kind: str, exclusive: bool) -> str:
        """The namespace's literal prefix, ending in `_` so that the tag stands apart
        (`appservice_records.py` finds the test's IDs by `_<tag>_`)."""
        try:
            prefix = namespace_prefix(self.registration, kind, exclusive=exclusive)
        except ValueError as error:
            pytest.fail(str(error), pytrace=False)
        return prefix if prefix.endswith("_") else f"{prefix}_"

    def as_client(self, user_id: str | None = None,
                  device_id: str | None = None) -> AppServiceClient:
        """A client with the as_token, acting as the sender or as `user_id` / `device_id`."""
        return AppServiceClient.wrapping(self.hs.client(), as_token=self.as_token,
                                         user_id=user_id or self.sender,
                                         asserted_user=user_id, device_id=device_id)

    def register_user(self, localpart: str | None = None, *,
                      inhibit_login: bool = True) -> AppServiceClient:
        """Registers a user of the namespace (`m.login.application_service`); acts as it."""
        body = {"type": "m.login.application_service", "inhibit_login": inhibit_login,
                "username": localpart or self.fresh_user_localpart()}
        result = expect_ok(self.as_client().do("POST", ["register"], json=body),
                           f"register {body['username']} as the application service")
        return self.as_client(user_id=result["user_id"])

    def log_in(self, user: str, *, device_id: str | None = None) -> Client:
        """Logs in as a user of the namespace (`m.login.application_service`, v1.2): a
        Client owning the new access token, as a user's own client would."""
        body: JsonDict = {"type": "m.login.application_service",
                          "identifier": {"type": "m.id.user", "user": user}}
        if device_id is not None:
            body["device_id"] = device_id
        result = expect_ok(self.as_client().do("POST", ["login"], json=body),
                           f"log in as {user} with the application service's token")
        client = self.hs.client()
        client._adopt(result)  # noqa: SLF001 — the harness's own Client, adopting a login
        return client

    def make_room_for_alias(self, alias: str) -> str:
        """A `create=` callback for `answer_alias_query`: a public room with that alias."""
        localpart = alias[1:].split(":", 1)[0]
        return self.as_client().create_room(room_alias_name=localpart, preset="public_chat")

    def ping(self, transaction_id: str | None = None) -> httpx.Response:
        """Asks the target to ping this service (client API, v1.7); the raw answer.

        The target calls the service before it answers, so a ping without an ID that
        arrived meanwhile is this test's; faults about the ping fail the test at once.
        """
        body = {} if transaction_id is None else {"transaction_id": transaction_id}
        if transaction_id is not None:
            self.records.ping_ids.add(transaction_id)
        self.records.refresh()
        before = self.records.seen
        response = self.as_client().do("POST", ["appservice", self.id, "ping"], json=body,
                                       prefix="/_matrix/client/v1")
        if transaction_id is None:
            self.records.claim_pings_without_id(after=before)
        self.check()
        return response

    # -- wishes -----------------------------------------------------------------------------

    def answer_user_query(self, user_id: str, *, exists: bool = True,
                          create: Callable[[str], Any] | None = None) -> None:
        """How to answer a query for `user_id`: 404, or make the user (`create(user_id)`,
        by default registering it) and then 200, as the spec asks of a service."""
        self.records.ids.add(user_id)
        if exists:
            self._ask("user", user_id, create or self._register_queried_user)
        else:
            self._set_control("user", user_id, {"status": 404})

    def answer_alias_query(self, alias: str, *,
                           create: Callable[[str], Any] | None = None) -> None:
        """How to answer a query for `alias`: run `create(alias)` then 200, or 404."""
        self.records.ids.add(alias)
        if create is None:
            self._set_control("alias", alias, {"status": 404})
        else:
            self._ask("alias", alias, create)

    def fail_transactions(self, room_id: str, *, times: int = 1, status: int = 500) -> None:
        """Fails the next `times` transactions holding data of `room_id` with `status`.

        Keyed by room because the transaction queue is shared: other tests' data in the
        same transactions is delayed by the target's backoff too, so keep `times` small.
        """
        self.records.rooms.add(room_id)
        self._set_control("room", room_id, {"fail": {"times": times, "status": status}})

    def on_transaction(self, callback: Callable[[Transaction], Any]) -> None:
        """Calls `callback(transaction)`, on a watcher thread, for every delivery about
        this test (earlier ones included); a failing callback fails the test."""
        self._on_transaction.append(callback)
        self._start_watcher()

    def _set_control(self, kind: str, key: str, value: JsonDict) -> None:
        self.spool.set_control(kind, key, {**value, "owner": self.tag})
        self._controls.append((kind, key))

    def _ask(self, kind: str, key: str, callback: Callable[[str], Any]) -> None:
        self._asks[(kind, key)] = callback
        self._start_watcher()
        self._set_control(kind, key, {"answer": "ask"})

    def _register_queried_user(self, user_id: str) -> None:
        self.register_user(user_id[1:].split(":", 1)[0])

    # -- what the service received ------------------------------------------------------------

    def transactions_about(self, *, room_id: str | None = None,
                           user_id: str | None = None) -> list[Transaction]:
        """Transactions holding data of the room and/or user (neither: of this test),
        each narrowed to the matching events and ephemeral data. Every delivery counts,
        the ones the service refused included; `statuses` says what each attempt got."""
        if room_id is not None:
            self.records.rooms.add(room_id)
        return self.records.transactions_about(room_id, user_id)

    def wait_for_event(self, room_id: str, event_type: str,
                       predicate: Callable[[JsonDict], Any] | None = None, *,
                       timeout: float = 10.0) -> JsonDict:
        """The first pushed event of that type in the room (matching `predicate`),
        delivered in any attempt, even one the service refused on purpose."""
        def found() -> JsonDict | None:
            for transaction in self.transactions_about(room_id=room_id):
                for event in transaction.events:
                    if event.get("type") == event_type and (predicate is None or predicate(event)):
                        return event
            return None
        return self.wait_for(found, timeout=timeout,
                             what=f"a {event_type} event of {room_id} in a transaction")

    def wait_for_ephemeral(self, edu_type: str, *, room_id: str | None = None,
                           user_id: str | None = None,
                           predicate: Callable[[JsonDict], Any] | None = None,
                           timeout: float = 10.0) -> JsonDict:
        """The first pushed ephemeral item of that type about the room and/or user."""
        def found() -> JsonDict | None:
            for transaction in self.transactions_about(room_id=room_id, user_id=user_id):
                for item in transaction.ephemeral:
                    if item.get("type") == edu_type and (predicate is None or predicate(item)):
                        return item
            return None
        about = " and ".join(filter(None, [room_id, user_id])) or "this test"
        return self.wait_for(found, timeout=timeout, what=f"ephemeral {edu_type} about {about}")

    def pings(self, transaction_id: str | None = None) -> list[JsonDict]:
        """Ping bodies received since the test began: with that transaction ID, else the
        ones this view's `ping()` caused."""
        return self.records.pings(transaction_id)

    def queries(self) -> list[Query]:
        """User and alias queries about this test's IDs, in arrival order."""
        return self.records.queries()

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 10.0,
                 what: str | None = None) -> Any:
        """Re-evaluates `predicate()` as each request arrives until it is truthy; returns it.

        Fails at once on a fault about this test, and after `timeout` with what the
        service did receive meanwhile.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.records.refresh()
            self.check()
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail("\n".join([
                    f"waited {timeout:g} s for {what or repr(predicate)} at the suite's "
                    f"application service {self.id} ({self.registration.get('url')})",
                    *self.records.describe_recent()]), pytrace=False)
            self._wait(self._http, after=self.records.seen, timeout=min(remaining, MAX_POLL))

    def check(self) -> None:
        """Fails the test now if faults about it were recorded that no failure has shown."""
        faults = self._new_faults()
        if faults:
            pytest.fail(self._fault_report(faults), pytrace=False)

    def _new_faults(self) -> list[str]:
        local, self._faults_shown = self._faults[self._faults_shown:], len(self._faults)
        return local + self.records.new_faults()

    def _fault_report(self, faults: list[str]) -> str:
        lines = "\n".join(f"  - {fault}" for fault in faults)
        return f"the suite's application service ({self.id}) recorded faults:\n{lines}"

    @staticmethod
    def _long_poll(http: httpx.Client, *, after: int, timeout: float,
                   wakes: int | None = None) -> JsonDict:
        """Waits until the service holds more than `after` records, or a wake newer than
        `wakes`; returns `{"count": records, "wakes": wakes so far}`."""
        params = {"after": after, "timeout": timeout,
                  **({"wakes": wakes} if wakes is not None else {})}
        response = http.get("/_conformance/wait", params=params)
        response.raise_for_status()
        answer = response.json()
        return {"count": int(answer["count"]), "wakes": int(answer["wakes"])}

    def _wait(self, http: httpx.Client, *, after: int, timeout: float) -> int:
        """`_long_poll` for the test's thread (the record count); an unreachable service
        fails the test."""
        try:
            return self._long_poll(http, after=after, timeout=timeout)["count"]
        except (httpx.HTTPError, ValueError, KeyError) as error:
            pytest.fail(self._unreachable(error), pytrace=False)

    def _unreachable(self, error: Exception) -> str:
        return (f"the suite's application service at {self.url} does not answer "
                f"({type(error).__name__}: {error}); it runs in the process that owns the "
                f"registration (spool {self.spool.directory})")

    # -- the watcher thread: callbacks in this process -------------------------------------------

    def _start_watcher(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True,
                                             name=f"appservice-view-{self.tag}")
            self._watcher.start()

    def _watch(self) -> None:
        handled, wakes = 0, self._wakes_at_start
        with httpx.Client(base_url=self.url, headers=self._headers,
                          timeout=MAX_POLL + 10) as http:
            while not self._stopping.is_set():
                self.records.refresh()
                todo = self.records.all()[handled:]
                handled += len(todo)
                for record in todo:
                    self._handle(http, record)
                try:  # passing `wakes` makes a wake sent while we were busy end this poll
                    wakes = self._long_poll(http, after=self.records.seen, timeout=MAX_POLL,
                                            wakes=wakes)["wakes"]
                except (httpx.HTTPError, ValueError, KeyError) as error:
                    self._faults.append(f"the watcher lost the service at {self.url}: {error}")
                    return

    def _handle(self, http: httpx.Client, record: JsonDict) -> None:
        if record.get("answer") == "ask" and record.get("owner") == self.tag:
            kind = "user" if record["kind"] == "user_query" else "alias"
            key = record.get("user_id") or record.get("alias") or ""
            callback = self._asks.get((kind, key))
            ran = callback is not None and self._run(callback, key, f"create callback for {key}")
            status = self.records.answered[record["seq"]] = 200 if ran else 500
            http.post(f"/_conformance/answer/{record['seq']}", json={"status": status})
        elif (record.get("kind") == "transaction" and self._on_transaction
              and self.records.is_mine(record)):
            for transaction in self.records.transactions_about():
                if transaction.txn_id == record["txn_id"]:
                    for callback in self._on_transaction:
                        self._run(callback, transaction, "on_transaction callback")

    def _run(self, callback: Callable[[Any], Any], argument: Any, what: str) -> bool:
        try:
            callback(argument)
            return True
        except (Exception, pytest.fail.Exception) as error:
            where = "".join(traceback.format_exception(error)[-3:]).strip()
            self._faults.append(f"the test's {what} failed: {where}")
            return False

    # -- teardown ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stops the watcher, withdraws the test's wishes, and fails on faults not shown."""
        if self._http.is_closed:
            return
        if self._watcher is not None:
            self._stopping.set()
            with contextlib.suppress(httpx.HTTPError):  # the watcher may be gone already
                self._http.post("/_conformance/wake")
            self._watcher.join(timeout=MAX_POLL + 10)
        for kind, key in self._controls:
            self.spool.clear_control(kind, key)
        try:
            self.records.refresh()
            faults = self._new_faults() + self.records.unattributed_faults()
        finally:
            self._http.close()
        if faults:
            pytest.fail(self._fault_report(faults), pytrace=False)
