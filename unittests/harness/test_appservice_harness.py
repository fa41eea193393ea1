# SPDX-License-Identifier: Apache-2.0
"""The suite's application service tooling, with no target at all.

The registration file is held to `api/application-service/definitions/registration.yaml`;
the fake service is driven by an httpx client playing the homeserver, and its answers
are held to `api/application-service` like a target's; the spool is read by views in
this process and, in the last tests, by pytest runs in other processes (xdist workers).
Spec: application-service-api/#registration, #authorization, #pushing-events,
#querying, #legacy-routes, #unknown-routes, #identity-assertion.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from api import API_ROOT, load_operations
from tests.harness.appservice_records import Query
from tests.harness.appservice_run import SPOOL_ENV, AppServiceError, AppServiceHost, \
    ReferenceServerWithAppService, parse_bind
from tests.harness.appservice_spool import identifiers_in
from tests.harness.appservice_view import AppServiceView
from tests.harness.homeserver import Homeserver
from tests.harness.schema import ResponseChecker
from tools.appservice_registration import build_registration, load_registration, main, \
    namespace_prefix, write_registration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROOM_A, ROOM_B = "!roomA:hs.test", "!roomB:hs.test"
STRANGER = "@stranger:hs.test"


def registration_validator() -> Draft202012Validator:
    document = yaml.safe_load(
        (API_ROOT / "application-service/definitions/registration.yaml").read_text())
    return Draft202012Validator({**document, "$ref": "#/Registration"})


def conformance_problem(response: httpx.Response) -> str | None:
    """Why the fake service's answer breaks `api/application-service`, or None."""
    checker = ResponseChecker([op for op in load_operations()
                               if op.family == "application-service"])
    path = response.request.url.raw_path.decode()
    operation = checker.index.match(response.request.method, path)
    assert operation is not None, f"no operation for {path}"
    return checker.problem(operation, response)


def message(sender: str, room: str = ROOM_A, body: str = "hi") -> dict:
    return {"type": "m.room.message", "sender": sender, "room_id": room,
            "event_id": f"$e{abs(hash((sender, room, body)))}", "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": body}}


@pytest.fixture
def host(tmp_path):
    """The run's fake service as the plugin starts it for the reference server."""
    host = AppServiceHost.for_reference_server(tmp_path)
    yield host
    host.close()


@pytest.fixture
def target(host):
    """An httpx client playing the homeserver: the registration's hs_token on every call."""
    headers = {"Authorization": f"Bearer {host.registration['hs_token']}"}
    with httpx.Client(base_url=host.service.local_url, headers=headers, timeout=40) as client:
        yield client


@pytest.fixture
def views(host):
    """Makes views (as the `appservice` fixture does, for a target named hs.test)."""
    made: list[AppServiceView] = []

    def make() -> AppServiceView:
        made.append(AppServiceView(host.spool, Homeserver("http://127.0.0.1:9",
                                                          server_name="hs.test")))
        return made[-1]

    yield make
    for view in made:
        try:
            view.close()
        except pytest.fail.Exception:
            pass  # the tests about teardown faults close their views themselves


def send(target: httpx.Client, txn_id: str, *events: dict, **extra) -> httpx.Response:
    return target.put(f"/_matrix/app/v1/transactions/{txn_id}",
                      json={"events": list(events), **extra})


# -- the registration file -------------------------------------------------------------


def test_the_registration_claims_the_suites_namespaces_and_ephemeral_data(tmp_path):
    path = tmp_path / "suite.yaml"
    returned = write_registration(path, url="http://127.0.0.1:1234")
    written = yaml.safe_load(path.read_text())
    assert written == returned
    registration_validator().validate(written)
    assert written["id"] == "conformance-suite"
    assert written["url"] == "http://127.0.0.1:1234"
    assert written["sender_localpart"] == "_conformance_bot"
    assert written["namespaces"] == {
        "users": [{"exclusive": True, "regex": "@confas_.*:.*"},
                  {"exclusive": False, "regex": "@confshared_.*:.*"}],
        "aliases": [{"exclusive": True, "regex": "#confas_.*:.*"}],
        "rooms": [{"exclusive": False, "regex": "!__conformance_suite_matches_no_room__:invalid"}],
    }
    assert written["rate_limited"] is False
    assert written["protocols"] == ["conformance"]
    assert written["receive_ephemeral"] is True
    assert written["de.sorunome.msc2409.push_ephemeral"] is True
    assert "io.element.msc4190" not in written  # MSC4190 defines no registration flag
    assert len(written["as_token"]) == 64 and written["as_token"] != written["hs_token"]


@pytest.mark.parametrize("kind, exclusive, prefix", [
    pytest.param("users", True, "confas_", id="exclusive-users"),
    pytest.param("users", False, "confshared_", id="shared-users"),
    pytest.param("aliases", True, "confas_", id="exclusive-aliases"),
])
def test_fresh_ids_come_from_the_registrations_namespaces(kind, exclusive, prefix):
    assert namespace_prefix(build_registration(), kind, exclusive=exclusive) == prefix


@pytest.mark.parametrize("regex", [
    pytest.param("@bridge_[0-9]+:.*", id="not-a-plain-prefix"),
    pytest.param("#confas_.*:.*", id="wrong-sigil"),
])
def test_a_namespace_without_a_plain_prefix_gives_no_fresh_ids(regex):
    registration = {"namespaces": {"users": [{"exclusive": True, "regex": regex}]}}
    with pytest.raises(ValueError, match="no exclusive users namespace"):
        namespace_prefix(registration, "users", exclusive=True)


def test_tokens_are_random_unless_a_seed_is_given(tmp_path):
    first, second = (write_registration(tmp_path / f"{n}.yaml") for n in "ab")
    assert first["as_token"] != second["as_token"]
    seeded = [write_registration(tmp_path / f"s{n}.yaml", seed="ci") for n in "ab"]
    assert seeded[0] == seeded[1]


def test_the_command_line_writes_a_file_the_suite_can_load(tmp_path, capsys):
    path = tmp_path / "out" / "reg.yaml"
    assert main(["write", str(path), "--url", "http://10.0.0.5:9000", "--id", "ci-suite",
                 "--sender-localpart", "_ci_bot", "--seed", "x"]) == 0
    loaded = load_registration(path)
    assert (loaded["url"], loaded["id"], loaded["sender_localpart"]) == \
        ("http://10.0.0.5:9000", "ci-suite", "_ci_bot")
    assert "--appservice-registration" in capsys.readouterr().out
    module = subprocess.run([sys.executable, "-m", "tools.appservice_registration", "write",
                             str(tmp_path / "m.yaml")], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60)
    assert module.returncode == 0, module.stderr
    registration_validator().validate(yaml.safe_load((tmp_path / "m.yaml").read_text()))


def test_a_registration_the_service_cannot_serve_is_refused(tmp_path):
    write_registration(tmp_path / "tls.yaml", url="https://127.0.0.1:1")
    with pytest.raises(ValueError, match="http:// URL"):
        load_registration(tmp_path / "tls.yaml")
    (tmp_path / "partial.yaml").write_text("id: x\nurl: http://127.0.0.1:1\n")
    with pytest.raises(ValueError, match="lacks as_token, hs_token"):
        load_registration(tmp_path / "partial.yaml")


# -- authentication, routes and transactions ----------------------------------------------


def test_an_authenticated_transaction_is_accepted_and_spooled(host, target):
    event = message(STRANGER)
    response = send(target, "t1", event)
    assert (response.status_code, response.json()) == (200, {})
    assert conformance_problem(response) is None
    [record] = host.spool.records_after(0)
    assert record["kind"] == "transaction" and record["txn_id"] == "t1"
    assert record["body"] == {"events": [event]}
    assert (record["status"], record["attempt"], record["faults"]) == (200, 1, [])
    assert record["about"] == [ROOM_A, STRANGER]


@pytest.mark.parametrize("header, status, errcode", [
    pytest.param("Bearer not-the-hs-token", 403, "M_FORBIDDEN", id="wrong-token"),
    pytest.param("Basic abc", 403, "M_FORBIDDEN", id="not-bearer"),
    pytest.param(None, 401, "M_UNAUTHORIZED", id="no-credentials"),
])
def test_a_request_without_the_hs_token_is_refused_and_is_a_fault(host, header, status,
                                                                   errcode):
    headers = {"Authorization": header} if header else {}
    response = httpx.put(f"{host.service.local_url}/_matrix/app/v1/transactions/t1",
                         json={"events": []}, headers=headers)
    assert (response.status_code, response.json()["errcode"]) == (status, errcode)
    assert conformance_problem(response) is None
    [record] = host.spool.records_after(0)
    assert record["status"] == status and "authorization" in record["faults"][0]


def test_the_legacy_query_parameter_alone_is_refused(host):
    token = host.registration["hs_token"]
    response = httpx.get(f"{host.service.local_url}/_matrix/app/v1/users/@x:hs.test",
                         params={"access_token": token})
    assert response.status_code == 401
    assert "legacy access_token" in host.spool.records_after(0)[0]["faults"][0]


@pytest.mark.parametrize("method, path, status", [
    pytest.param("GET", "/_matrix/app/v1/nothing", 404, id="unknown-path"),
    pytest.param("DELETE", "/_matrix/app/v1/transactions/t1", 405, id="wrong-method"),
])
def test_an_unexpected_request_is_unrecognized_and_a_fault(host, target, method, path, status):
    response = target.request(method, path)
    assert (response.status_code, response.json()["errcode"]) == (status, "M_UNRECOGNIZED")
    [record] = host.spool.records_after(0)
    assert record["kind"] == "unexpected" and record["faults"]


def test_legacy_paths_are_served_like_versioned_ones(host, target):
    response = target.put("/transactions/t9", json={"events": [message(STRANGER)]})
    assert response.status_code == 200
    [record] = host.spool.records_after(0)
    assert (record["kind"], record["legacy"], record["faults"]) == ("transaction", True, [])


def test_a_malformed_transaction_is_accepted_but_is_a_fault(host, target):
    response = target.put("/_matrix/app/v1/transactions/t1", json={"ephemeral": []})
    assert response.status_code == 200  # refusing it would stall the target's queue
    assert "sendTransaction" in host.spool.records_after(0)[0]["faults"][0]


def test_transactions_fail_as_often_as_asked_then_succeed(views, target):
    view = views()
    view.fail_transactions(ROOM_A, times=2, status=503)
    statuses = [send(target, "t1", message(STRANGER)).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert send(target, "t2", message(STRANGER, ROOM_B)).status_code == 200  # other rooms pass
    [transaction] = view.transactions_about(room_id=ROOM_A)
    assert transaction.statuses == (503, 503, 200, 200)
    assert (transaction.attempts, transaction.duplicates) == (4, 1)


def test_a_retry_with_a_different_content_is_a_fault(views, target):
    view = views()
    user = view.fresh_user_id()
    send(target, "t1", message(user, body="first"))
    send(target, "t1", message(user, body="changed"))
    with pytest.raises(pytest.fail.Exception, match="resent with a different content"):
        view.close()


def test_a_retry_that_only_brings_the_ages_up_to_date_is_no_fault(views, target):
    view = views()
    user = view.fresh_user_id()
    event = message(user)
    send(target, "t1", {**event, "age": 5, "unsigned": {"age": 5}})
    send(target, "t1", {**event, "age": 2005, "unsigned": {"age": 2005}})
    view.close()
    assert [t.statuses for t in view.transactions_about()] == [(200, 200)]


# -- queries --------------------------------------------------------------------------------


def test_queries_are_answered_as_the_control_files_say(host, views, target):
    view = views()
    unknown, wanted, refused = (view.fresh_user_id() for _ in range(3))
    host.spool.set_control("user", wanted, {"status": 200})
    view.answer_user_query(refused, exists=False)
    alias = view.fresh_alias()
    for path in (f"/users/{unknown}", f"/users/{wanted}", f"/users/{refused}", f"/rooms/{alias}"):
        response = target.get("/_matrix/app/v1" + path.replace("#", "%23"))
        assert conformance_problem(response) is None
    assert [(q.kind, q.id, q.status) for q in view.queries()] == [
        ("user", unknown, 404), ("user", wanted, 200), ("user", refused, 404),
        ("alias", alias, 404)]
    view.close()  # no faults: queries nobody answered are not the target's fault


@pytest.mark.parametrize("path, status, found", [
    pytest.param("/thirdparty/protocol/conformance", 200, "user_fields", id="protocol"),
    pytest.param("/thirdparty/protocol/irc", 404, None, id="other-protocol"),
    pytest.param("/thirdparty/user/conformance?name=ann", 200, "@confas_ann:", id="user"),
    pytest.param("/thirdparty/location/conformance?channel=hall", 200, "#confas_hall:",
                 id="location"),
    pytest.param("/thirdparty/location/conformance?other=1", 404, None, id="no-match"),
    pytest.param("/thirdparty/user?userid=@confas_ann:hs.test", 200, "@confas_ann:hs.test",
                 id="reverse-user"),
    pytest.param("/thirdparty/location?alias=%23confas_hall:hs.test", 200, "#confas_hall:hs.test",
                 id="reverse-location"),
])
def test_third_party_lookups_are_answered_from_the_query(host, target, path, status, found):
    response = target.get("/_matrix/app/v1" + path)
    assert response.status_code == status
    assert conformance_problem(response) is None
    if found:
        assert found in response.text
    [record] = host.spool.records_after(0)
    assert (record["kind"], record["faults"]) == ("thirdparty", [])


def test_a_query_outside_the_namespaces_is_a_fault(host, target):
    assert target.get("/_matrix/app/v1/users/@alice:hs.test").status_code == 404
    assert "none of the registration's users namespaces" in \
        host.spool.records_after(0)[0]["faults"][0]


def test_a_held_query_is_answered_after_the_tests_callback_ran(views, target):
    view = views()
    user, created = view.fresh_user_id(), []
    view.answer_user_query(user, create=created.append)
    assert target.get(f"/_matrix/app/v1/users/{user}").status_code == 200
    assert created == [user]
    assert view.queries() == [Query("user", user, 200, False)]


def test_a_failing_callback_answers_500_and_fails_the_test(views, target):
    view = views()
    alias = view.fresh_alias()

    def create(_alias: str) -> None:
        raise RuntimeError("no room for you")

    view.answer_alias_query(alias, create=create)
    assert target.get("/_matrix/app/v1/rooms/" + alias.replace("#", "%23")).status_code == 500
    with pytest.raises(pytest.fail.Exception, match="no room for you"):
        view.close()


# -- one test's view --------------------------------------------------------------------------


def test_the_view_sees_its_own_rooms_and_users_only(views, target):
    view = views()
    mine = view.fresh_user_id()
    send(target, "t1", message(mine, ROOM_A), message(STRANGER, ROOM_B))
    send(target, "t2", message(STRANGER, ROOM_A, "later"), message(STRANGER, ROOM_B, "b"))
    by_room = view.transactions_about(room_id=ROOM_A)
    assert [[e["sender"] for e in t.events] for t in by_room] == [[mine], [STRANGER]]
    by_user = view.transactions_about(user_id=mine)
    assert [len(t.events) for t in by_user] == [1]
    # Without a filter: everything in the rooms its users were seen in, nothing else.
    assert {e["room_id"] for t in view.transactions_about() for e in t.events} == {ROOM_A}


def test_waiting_wakes_when_the_event_arrives(views, target):
    view = views()
    mine = view.fresh_user_id()
    sender = threading.Thread(target=send, args=(target, "t1", message(mine, ROOM_A)))
    started = time.monotonic()
    sender.start()
    event = view.wait_for_event(ROOM_A, "m.room.message", lambda e: e["sender"] == mine,
                                timeout=20)
    sender.join()
    assert event["sender"] == mine
    assert time.monotonic() - started < 4  # woken by the arrival, not by a poll interval


def test_waiting_in_vain_says_what_arrived(views, target):
    view = views()
    send(target, "t1", message(STRANGER, ROOM_B))
    with pytest.raises(pytest.fail.Exception, match=r"(?s)waited 0.2 s .*transactions/t1 → 200"):
        view.wait_for_event(ROOM_A, "m.room.message", timeout=0.2)


def test_ephemeral_data_and_pings_are_found(views, target):
    view = views()
    mine = view.fresh_user_id()
    typing = {"type": "m.typing", "room_id": ROOM_A, "content": {"user_ids": [mine]}}
    send(target, "t1", **{"de.sorunome.msc2409.ephemeral": [typing]})
    assert view.wait_for_ephemeral("m.typing", user_id=mine) == typing
    view.records.ping_ids.add("p1")  # as view.ping("p1") would
    assert target.post("/_matrix/app/v1/ping", json={"transaction_id": "p1"}).json() == {}
    assert view.pings() == [{"transaction_id": "p1"}]


def test_on_transaction_sees_each_delivery_about_the_test(views, target):
    view = views()
    mine, seen = view.fresh_user_id(), []
    view.on_transaction(seen.append)
    send(target, "t1", message(STRANGER, ROOM_B))
    send(target, "t2", message(mine, ROOM_A))
    view.wait_for(lambda: seen, timeout=10, what="the callback")
    assert [t.txn_id for t in seen] == ["t2"]


def test_a_fault_about_a_test_fails_its_wait_at_once(views, host):
    view = views()
    mine = view.fresh_user_id()
    httpx.get(f"{host.service.local_url}/_matrix/app/v1/users/{mine}")  # no token
    with pytest.raises(pytest.fail.Exception, match="sent no Authorization header"):
        view.wait_for(lambda: False, timeout=10)


def test_a_fault_naming_nobody_fails_exactly_one_test(views, target):
    first, second = views(), views()
    target.get("/_matrix/app/v1/nothing")
    with pytest.raises(pytest.fail.Exception, match="not tied to any test"):
        first.close()
    second.close()


def test_the_as_client_asserts_its_identity_on_every_request(views):
    view = views()
    seen: list[httpx.Request] = []

    def homeserver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"user_id": "@confas_x:hs.test", "is_guest": False,
                                         "device_id": "DEV"})

    view.hs._transport = httpx.MockTransport(homeserver)
    view.as_client(user_id="@confas_x:hs.test", device_id="DEV").whoami()
    view.as_client().whoami()
    asserted, plain = seen
    assert asserted.headers["authorization"] == f"Bearer {view.as_token}"
    assert dict(asserted.url.params) == {"user_id": "@confas_x:hs.test", "device_id": "DEV",
                                         "org.matrix.msc3202.device_id": "DEV"}
    assert dict(plain.url.params) == {}
    assert view.as_client().user_id == view.sender == "@_conformance_bot:hs.test"


def test_identifiers_are_read_from_naming_fields_only():
    receipt = {"type": "m.receipt", "room_id": ROOM_A,
               "content": {"$e": {"m.read": {"@reader:hs.test": {"ts": 1}}}}}
    text = message(STRANGER, body="@not-a-mention:hs.test")
    assert identifiers_in([receipt, text]) == [ROOM_A, "@reader:hs.test", STRANGER]


# -- where the service runs ------------------------------------------------------------------


def test_the_reference_server_config_names_the_registration(tmp_path):
    server = ReferenceServerWithAppService()
    try:
        registration = tmp_path / "reg.yaml"
        server.appservice_files = (registration,)
        base = server.directory / "config.toml"
        base.write_text("[registration]\nopen = true\n")
        command = server.command(base)
        config = Path(command[command.index("--config") + 1])
        assert tomllib.loads(config.read_text()) == {
            "registration": {"open": True},
            "appservices": {"registration_files": [str(registration.resolve())]}}
    finally:
        server.stop()


@pytest.mark.parametrize("text, expected", [
    pytest.param("0.0.0.0:29328", ("0.0.0.0", 29328), id="ipv4"),
    pytest.param("[::]:8000", ("::", 8000), id="ipv6"),
])
def test_bind_addresses_are_parsed(text, expected):
    assert parse_bind(text) == expected


@pytest.mark.parametrize("text", ["29328", "host:", "host:port"])
def test_bad_bind_addresses_are_refused(text):
    with pytest.raises(AppServiceError, match="ADDR:PORT"):
        parse_bind(text)


def test_a_busy_address_is_reported_with_the_way_out(host, tmp_path):
    with pytest.raises(AppServiceError, match="--appservice-bind"):
        AppServiceHost.serve(host.registration_path)


# -- across processes ---------------------------------------------------------------------------

INNER_SUITE = '''
import httpx

def play_target(appservice, txn_id, body):
    headers = {"Authorization": f"Bearer {appservice.hs_token}"}
    return httpx.put(f"{appservice.url}/_matrix/app/v1/transactions/{txn_id}",
                     json=body, headers=headers)

def scenario(appservice, room):
    user = appservice.fresh_user_id()
    event = {"type": "m.room.message", "sender": user, "room_id": room, "event_id": "$" + room[1:],
             "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "hi"}}
    assert play_target(appservice, room, {"events": [event]}).status_code == 200
    assert appservice.wait_for_event(room, "m.room.message")["sender"] == user
    assert [t.txn_id for t in appservice.transactions_about()] == [room]

def test_one(appservice):
    scenario(appservice, "!one:hs.test")

def test_two(appservice):
    scenario(appservice, "!two:hs.test")
'''


def run_inner(tmp_path: Path, *extra: str, env: dict[str, str] | None = None):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(INNER_SUITE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MATRIX_"))}
    command = [sys.executable, "-m", "pytest", "-p", "tests.harness.plugin", "-p",
               "no:cacheprovider", "-q", "--server-url", "http://127.0.0.1:9",
               "--server-name", "hs.test", *extra]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**clean, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})})


def test_xdist_workers_share_the_service_through_the_spool(host, tmp_path):
    process = run_inner(tmp_path, "-p", "xdist", "-n", "2",
                        env={SPOOL_ENV: str(host.spool.directory)})
    assert process.returncode == 0, process.stdout + process.stderr
    assert "2 passed" in process.stdout
    assert {r["txn_id"] for r in host.spool.records_after(0)} == {"!one:hs.test", "!two:hs.test"}


def test_one_process_serves_a_given_registration(tmp_path):
    with socket.socket() as probe:  # a port just freed, for the registration's url
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_registration(tmp_path / "reg.yaml", url=f"http://127.0.0.1:{port}")
    process = run_inner(tmp_path, "--appservice-registration", "reg.yaml")
    assert process.returncode == 0, process.stdout + process.stderr
    assert "2 passed" in process.stdout


def test_without_a_registration_the_fixture_skips_and_says_how(tmp_path):
    process = run_inner(tmp_path, "-rs")
    assert process.returncode == 0, process.stdout + process.stderr
    assert "python -m tools.appservice_registration write FILE" in process.stdout
