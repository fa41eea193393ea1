# SPDX-License-Identifier: Apache-2.0
"""The suite's fake application service: the endpoint a target pushes to and queries.

One per run. The target sends everything for the suite's registration to the one `url`
in it, and parallel xdist workers cannot all listen there, so the process that owns the
registration (the xdist controller, or the only process) serves it for the whole run,
from `pytest_sessionstart` on, like the reference server. Tests in any process see it
through the spool directory (`appservice_spool.py`): every request becomes a record
there, and a test states its wishes in control files keyed by the user IDs, aliases and
room IDs only it uses, so parallel tests never share state. `AppServiceView`
(`appservice_view.py`) is a test's window on it.

What it does with a request from the target:
- checks `Authorization: Bearer <hs_token>` (spec: application-service-api/#authorization):
  no credentials → 401 `M_UNAUTHORIZED`, a wrong token → 403 `M_FORBIDDEN`, each a fault;
- checks the body against `api/application-service` and, for queries, that the ID is in
  the registration's namespaces (the homeserver only asks about those): faults, though
  the answer is still given, so one bad transaction does not stall the target's queue
  for every other test;
- transactions: 200, unless a test asked to fail that room's transactions N times;
  every attempt is recorded with its number, and a retry that changes the content of a
  transaction is a fault (the homeserver must not alter its events), except for the
  events' `age`, which counts the time since the event was sent;
- user and alias queries: 404 unless a test set an answer; an answer with a callback
  (`create=`) is "ask": the query is held while the test's process runs the callback
  and posts the status back here;
- third-party lookups: answers made from the query for the registration's protocol
  (`appservice_thirdparty.py`), 404 when nothing matches; never a fault;
- the legacy unprefixed paths are served like the versioned ones (the spec lets a
  homeserver fall back to them after a failure) and marked `legacy` in the record;
- anything else: 404 / 405 `M_UNRECOGNIZED`, as the spec asks, and a fault.

Besides the target's API it serves a small control API under `/_conformance/` for the
tests' processes (bearer: the control token in the spool's meta.json): `GET wait?after=N`
long-polls until record N+1 exists, so waiting needs no sleeps; `POST answer/<seq>`
releases a held query; `POST wake` ends every long poll (and the next one of a caller
that passes the `wakes` count it last saw), so a test can stop its watcher at once.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from api.formats import is_room_alias, is_user_id
from tests.harness.appservice_routes import ROUTES, V1, match_route, parse_json, schema_problem
from tests.harness.appservice_spool import Spool, ephemeral_of, events_of, identifiers_in
from tests.harness.appservice_thirdparty import answer as thirdparty_answer
from tests.harness.federation_routes import Request
from tests.harness.federation_server import _RequestHandler
from tests.harness.schema import trim

JsonDict = dict[str, Any]
CONTROL = "/_conformance"
ASK_TIMEOUT = 30.0  # how long a held query waits for the test's callback
MAX_WAIT = 30.0  # the longest long poll
IDLE_TIMEOUT = 60.0
SPEC = "application-service-api"
NOT_FOUND = {"errcode": "M_NOT_FOUND", "error": "the conformance suite was not told to "
             "answer this (see the appservice fixture's answer_* methods)"}


def _error(status: int, errcode: str, text: str) -> tuple[int, JsonDict]:
    return status, {"errcode": errcode, "error": text}


class FakeAppService:
    """The run's application service endpoint, serving plain HTTP on a background thread."""

    def __init__(self, registration: JsonDict, spool: Spool, *,
                 bind: tuple[str, int] | None = None, control_token: str | None = None) -> None:
        url = urlsplit(registration["url"])
        self.registration = registration
        self.spool = spool
        self.base_path = url.path.rstrip("/")
        self.hs_token: str = registration["hs_token"]
        self.control_token = control_token or secrets.token_hex(16)
        namespaces = registration.get("namespaces") or {}
        self._namespaces = {kind: [re.compile(ns["regex"]) for ns in namespaces.get(kind) or []]
                            for kind in ("users", "aliases")}
        self.faults: list[tuple[int, str]] = []  # (record seq, message), for the summary
        self._changed = threading.Condition()
        self._count = 0  # records written
        self._wakes = 0
        self._closed = False
        self._answers: dict[int, int] = {}  # held query seq -> status posted by its test
        self._attempts: dict[str, list[int]] = {}  # txnId -> statuses answered, in order
        self._first_body: dict[str, Any] = {}
        self._failed: dict[str, int] = {}  # room -> transactions failed on purpose
        host, port = bind or (url.hostname or "127.0.0.1", url.port or 80)
        self._server = _Server((host, port), self)
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<FakeAppService {self.local_url}>"

    @property
    def local_url(self) -> str:
        """Where processes of this machine reach the service (a wildcard bind → loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> FakeAppService:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name=f"appservice-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeAppService:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def unclaimed_faults(self) -> list[tuple[int, str]]:
        """Faults no test has reported (they arrived outside every test's window)."""
        return [(seq, text) for seq, text in self.faults if not self.spool.claimed(seq)]

    # -- answering the target -----------------------------------------------------------------

    def dispatch(self, request: Request) -> tuple[int, JsonDict]:
        """Answers one request; every request of the target becomes one record."""
        if request.path.startswith(CONTROL + "/"):
            return self._control(request)
        record: JsonDict = {"time": time.time(), "method": request.method,
                            "path": unquote(request.path), "kind": "unexpected",
                            "status": None, "about": [], "faults": []}
        status, body = self._answer(request, record)
        if "seq" not in record:  # a held query was published before it was answered
            record["status"] = status
            self._publish(record)
        return status, body

    def _answer(self, request: Request, record: JsonDict) -> tuple[int, JsonDict]:
        path = request.path
        if self.base_path:
            path = path[len(self.base_path):] if path.startswith(self.base_path + "/") else ""
        found = match_route(request.method, path)
        if found is None:
            return self._unexpected(request, path, record)
        kind, params, legacy = found
        body, parse_problem = parse_json(request.body)
        record.update(kind=kind, legacy=legacy)
        record["about"] = self._about(kind, params, body)
        if request.query:
            record["query"] = {name: values[-1] for name, values in request.query.items()
                               if name != "access_token"}
        refusal = self._refusal(request)
        if refusal is not None:
            status, answer, fault = refusal
            record["faults"].append(f"{request.describe()}: {fault}")
            return status, answer
        problem = parse_problem or (schema_problem(request.method, path, body)
                                    if request.body else None)
        if problem:
            record["faults"].append(f"{request.describe()}: {problem}")
        handler: Callable[..., tuple[int, JsonDict]] = getattr(self, f"_on_{kind}")
        return handler(record, params, body)

    def _unexpected(self, request: Request, path: str, record: JsonDict) -> tuple[int, JsonDict]:
        methods = sorted({route.method for route, _, _ in ROUTES
                          if route.match(route.method, path) is not None})
        if methods:
            record["faults"].append(f"{request.describe()}: the application service API has "
                                    f"no such method here (only {', '.join(methods)})")
            return _error(405, "M_UNRECOGNIZED", "method not allowed")
        record["faults"].append(
            f"{request.describe()}: not an application service endpoint the suite serves "
            f"(transactions, ping, user and alias queries, third-party lookups under "
            f"{self.base_path}{V1}); the spec's answer is 404 M_UNRECOGNIZED")
        return _error(404, "M_UNRECOGNIZED", "unknown endpoint")

    @staticmethod
    def _about(kind: str, params: dict[str, str], body: Any) -> list[str]:
        if kind == "transaction":
            return identifiers_in(events_of(body) + ephemeral_of(body))
        return [params[name] for name in ("userId", "roomAlias") if name in params]

    def _refusal(self, request: Request) -> tuple[int, JsonDict, str] | None:
        """Why the request's credentials are refused: (status, body, fault), or None."""
        header = request.headers.get("authorization")
        query_token = request.arg("access_token")
        where = f"(spec: {SPEC}/#authorization)"
        if header is None:
            legacy = (" (only the legacy access_token query parameter, which may accompany "
                      "the header but not replace it)" if query_token is not None else "")
            return (*_error(401, "M_UNAUTHORIZED", "no hs_token given"),
                    f"sent no Authorization header{legacy}; homeservers MUST send "
                    f"'Authorization: Bearer <hs_token>' {where}")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), self.hs_token):
            return (*_error(403, "M_FORBIDDEN", "unknown hs_token"),
                    f"the Authorization header does not carry the registration's hs_token "
                    f"{where}")
        if query_token is not None and not hmac.compare_digest(query_token, self.hs_token):
            return (*_error(403, "M_FORBIDDEN", "the access_token parameter disagrees"),
                    f"the access_token query parameter is not the hs_token the header "
                    f"carries {where}")
        return None

    def _on_transaction(self, record: JsonDict, params: dict[str, str],
                        body: Any) -> tuple[int, JsonDict]:
        txn_id = params["txnId"]
        with self._changed:
            statuses = self._attempts.setdefault(txn_id, [])
            first = self._first_body.setdefault(txn_id, body)
            changed = _difference(_without_ages(first), _without_ages(body))
            if changed:
                record["faults"].append(
                    f"transaction {txn_id} was resent with a different content; a homeserver "
                    f"must not alter the events of a transaction between attempts (spec: "
                    f"{SPEC}/#pushing-events)\n    {changed}")
            duplicate = any(200 <= status < 300 for status in statuses)
            status = 200 if duplicate else self._planned_failure(body) or 200
            statuses.append(status)
            record.update(txn_id=txn_id, body=body, attempt=len(statuses), duplicate=duplicate)
        if status != 200:
            return _error(status, "M_UNKNOWN", "failing on purpose (fail_transactions)")
        return 200, {}

    def _planned_failure(self, body: Any) -> int | None:
        """The status a test asked this transaction to fail with, if any (lock held)."""
        failure = None
        rooms = {item["room_id"] for item in events_of(body) + ephemeral_of(body)
                 if isinstance(item.get("room_id"), str)}
        for room in sorted(rooms):
            wish = (self.spool.control("room", room) or {}).get("fail")
            if wish and self._failed.get(room, 0) < int(wish.get("times", 1)):
                self._failed[room] = self._failed.get(room, 0) + 1
                failure = failure or int(wish.get("status", 500))
        return failure

    def _on_ping(self, record: JsonDict, params: dict[str, str],
                 body: Any) -> tuple[int, JsonDict]:
        record["body"] = body if isinstance(body, dict) else {}
        record["transaction_id"] = record["body"].get("transaction_id")
        return 200, {}

    def _on_user_query(self, record: JsonDict, params: dict[str, str],
                       body: Any) -> tuple[int, JsonDict]:
        user_id = params["userId"]
        record["user_id"] = user_id
        self._check_queried_id(record, user_id, "users", is_user_id, "get_matrixappv1usersuserid")
        return self._query(record, "user", user_id)

    def _on_alias_query(self, record: JsonDict, params: dict[str, str],
                        body: Any) -> tuple[int, JsonDict]:
        alias = params["roomAlias"]
        record["alias"] = alias
        self._check_queried_id(record, alias, "aliases", is_room_alias,
                               "get_matrixappv1roomsroomalias")
        return self._query(record, "alias", alias)

    def _on_thirdparty(self, record: JsonDict, params: dict[str, str],
                       body: Any) -> tuple[int, Any]:
        query = record.get("query") or {}
        record["about"] = [query[name] for name in ("userid", "alias") if query.get(name)]
        lookup = record["path"].rsplit("/thirdparty/", 1)[1].split("/", 1)[0]
        return thirdparty_answer(lookup, params.get("protocol"), query)

    def _check_queried_id(self, record: JsonDict, value: str, namespace: str,
                          well_formed: Callable[[str], bool], anchor: str) -> None:
        if not well_formed(value):
            record["faults"].append(f"the homeserver asked about {value!r}, which is not a "
                                    f"well-formed identifier (spec: {SPEC}/#{anchor})")
        elif not any(pattern.match(value) for pattern in self._namespaces[namespace]):
            record["faults"].append(f"the homeserver asked about {value}, which is in none of "
                                    f"the registration's {namespace} namespaces; it only asks "
                                    f"about those (spec: {SPEC}/#{anchor})")

    def _query(self, record: JsonDict, kind: str, key: str) -> tuple[int, JsonDict]:
        """The answer a test set for this ID: none (404), a status, or "ask" its callback."""
        wish = self.spool.control(kind, key)
        if wish is None:
            record["answer"] = None
            return 404, NOT_FOUND
        if wish.get("answer") != "ask":
            status = int(wish.get("status", 404))
            record["answer"] = status
            return status, {} if status == 200 else NOT_FOUND
        record.update(answer="ask", owner=wish.get("owner"))
        seq = self._publish(record)
        with self._changed:
            self._changed.wait_for(lambda: seq in self._answers or self._closed, ASK_TIMEOUT)
            status = self._answers.pop(seq, None)
        if status is None:
            self._publish({"time": time.time(), "kind": "fault", "about": [key], "faults": [
                f"the test's callback for {key} did not answer the held query within "
                f"{ASK_TIMEOUT:g} s (did the test end first?); answered 404"]})
            return 404, NOT_FOUND
        return status, {} if status == 200 else NOT_FOUND

    def _publish(self, record: JsonDict) -> int:
        """Writes the record as the next one and wakes every long poll."""
        with self._changed:
            seq = self._count + 1
            self.spool.write_record(seq, record)
            record["seq"] = self._count = seq
            self.faults += [(seq, fault) for fault in record.get("faults", [])]
            self._changed.notify_all()
        return seq

    # -- the control API for the tests' processes -----------------------------------------------

    def _control(self, request: Request) -> tuple[int, JsonDict]:
        expected = f"Bearer {self.control_token}"
        if not hmac.compare_digest(request.headers.get("authorization", ""), expected):
            return _error(403, "M_FORBIDDEN", "the control API needs the spool's control token")
        path = request.path[len(CONTROL):]
        if request.method == "GET" and path == "/wait":
            after = int(request.arg("after", "0") or 0)
            timeout = min(float(request.arg("timeout", "0") or 0), MAX_WAIT)
            with self._changed:
                # A wake between the caller's last answer and this poll still counts.
                wakes = int(request.arg("wakes", "") or self._wakes)
                self._changed.wait_for(lambda: self._count > after or self._wakes != wakes
                                       or self._closed, timeout)
                return 200, {"count": self._count, "wakes": self._wakes}
        if request.method == "POST" and path == "/wake":
            with self._changed:
                self._wakes += 1
                self._changed.notify_all()
                return 200, {"count": self._count, "wakes": self._wakes}
        if request.method == "POST" and path.startswith("/answer/"):
            body, _ = parse_json(request.body)
            with self._changed:
                self._answers[int(path.rsplit("/", 1)[1])] = int((body or {}).get("status", 404))
                self._changed.notify_all()
            return 200, {}
        return _error(404, "M_UNRECOGNIZED", "unknown control endpoint")


def _without_ages(body: Any) -> Any:
    """A transaction body without its events' `age` and `unsigned.age`: they count the
    time since each event was sent, so a faithful retry may bring them up to date."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return body
    events = []
    for event in body["events"]:
        if isinstance(event, dict):
            event = {k: v for k, v in event.items() if k != "age"}
            if isinstance(event.get("unsigned"), dict):
                event["unsigned"] = {k: v for k, v in event["unsigned"].items() if k != "age"}
        events.append(event)
    return {**body, "events": events}


def _difference(first: Any, now: Any, path: str = "$") -> str | None:
    """Where two JSON values first differ, with both sides; None when they are equal."""
    if isinstance(first, dict) and isinstance(now, dict):
        for key in sorted(first.keys() | now.keys()):
            if key not in first or key not in now:
                side = "first" if key in first else "now"
                return f"at {path}.{key}: only in the {side} attempt"
            found = _difference(first[key], now[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(first, list) and isinstance(now, list):
        if len(first) != len(now):
            return (f"at {path}: {len(first)} items first, {len(now)} now\n"
                    f"    first: {trim(json.dumps(first), 300)}\n"
                    f"    now:   {trim(json.dumps(now), 300)}")
        return next(filter(None, (_difference(a, b, f"{path}[{i}]")
                                  for i, (a, b) in enumerate(zip(first, now)))), None)
    if first != now:
        return f"at {path}: first {trim(json.dumps(first), 200)}, now {trim(json.dumps(now), 200)}"
    return None


class _Handler(_RequestHandler):
    """The fake peers' JSON request handler (keep-alive, chunked bodies), over plain HTTP."""

    timeout = IDLE_TIMEOUT
    do_PATCH = do_OPTIONS = _RequestHandler._handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: FakeAppService) -> None:
        self.peer = service  # the name `_RequestHandler` dispatches to
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__((address[0].strip("[]"), address[1]), _Handler)
