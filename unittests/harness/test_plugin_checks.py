# SPDX-License-Identifier: Apache-2.0
"""Sync checks, UIA stage choice and exchange assertions, on hand-made answers."""
from __future__ import annotations

import httpx
import pytest

from tests.harness import uia
from tests.harness.checks import (
    account_data_has, expect_error, expect_ok, invited_to, joined_to, left, receipt_in,
    state_has, timeline_has, typing_in,
)

ROOM = "!room:hs.test"
MESSAGE = {"type": "m.room.message", "event_id": "$m", "content": {"body": "hi"}}
NAME = {"type": "m.room.name", "event_id": "$n", "state_key": "", "content": {"name": "x"}}
SYNC = {
    "next_batch": "s1",
    "account_data": {"events": [{"type": "m.direct", "content": {}}]},
    "rooms": {
        "join": {ROOM: {
            "timeline": {"events": [MESSAGE]},
            "state": {"events": [NAME]},
            "ephemeral": {"events": [
                {"type": "m.typing", "content": {"user_ids": ["@a:hs.test"]}},
                {"type": "m.receipt", "content": {"$m": {"m.read": {"@b:hs.test": {"ts": 1}}}}},
            ]},
            "account_data": {"events": [{"type": "m.tag", "content": {"tags": {}}}]},
        }},
        "invite": {"!inv:hs.test": {"invite_state": {"events": []}}},
        "leave": {"!gone:hs.test": {"timeline": {"events": []}}},
    },
}


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(joined_to(ROOM), id="joined"),
        pytest.param(invited_to("!inv:hs.test"), id="invited"),
        pytest.param(left("!gone:hs.test"), id="left"),
        pytest.param(timeline_has(ROOM, "$m"), id="timeline-by-id"),
        pytest.param(timeline_has(ROOM, predicate=lambda e: e["content"].get("body") == "hi"),
                     id="timeline-by-predicate"),
        pytest.param(state_has(ROOM, "m.room.name"), id="state"),
        pytest.param(typing_in(ROOM, ["@a:hs.test"]), id="typing"),
        pytest.param(receipt_in(ROOM, "$m", "@b:hs.test"), id="receipt"),
        pytest.param(account_data_has("m.direct"), id="global-account-data"),
        pytest.param(account_data_has("m.tag", room_id=ROOM), id="room-account-data"),
    ],
)
def test_checks_pass_on_a_matching_answer(check):
    assert check(SYNC) is None


@pytest.mark.parametrize(
    ("check", "reason_mentions"),
    [
        pytest.param(joined_to("!other:hs.test"), "!other:hs.test", id="not-joined"),
        pytest.param(invited_to(ROOM), "rooms.invite", id="not-invited"),
        pytest.param(timeline_has(ROOM, "$nope"), "m.room.message $m", id="timeline-miss"),
        pytest.param(state_has(ROOM, "m.room.topic"), "m.room.name $n", id="state-miss"),
        pytest.param(typing_in(ROOM, []), "['@a:hs.test']", id="typing-not-empty"),
        pytest.param(receipt_in(ROOM, "$m", "@a:hs.test"), "@a:hs.test", id="receipt-miss"),
        pytest.param(account_data_has("m.push_rules"), "m.direct", id="account-data-miss"),
    ],
)
def test_checks_explain_what_is_missing(check, reason_mentions):
    reason = check(SYNC)
    assert reason is not None and reason_mentions in reason
    assert str(check)  # the description sync_until prints beside the reason


FLOWS = {"session": "s", "flows": [{"stages": ["m.login.email.identity"]},
                                   {"stages": ["m.login.registration_token", "m.login.dummy"]},
                                   {"stages": ["m.login.dummy"]}]}


@pytest.mark.parametrize(
    ("info", "can_do", "tried", "stage"),
    [
        pytest.param(FLOWS, ["m.login.dummy"], set(), "m.login.dummy", id="only-dummy"),
        pytest.param(FLOWS, ["m.login.dummy", "m.login.registration_token"], set(),
                     "m.login.registration_token", id="first-usable-flow"),
        pytest.param({**FLOWS, "completed": ["m.login.registration_token"]},
                     ["m.login.dummy", "m.login.registration_token"],
                     {"m.login.registration_token"}, "m.login.dummy", id="continues"),
        pytest.param(FLOWS, ["m.login.password"], set(), None, id="nothing-usable"),
        pytest.param({"flows": [{"stages": ["m.login.password"]}]}, ["m.login.password"],
                     {"m.login.password"}, None, id="no-retry-of-a-refused-stage"),
    ],
)
def test_uia_next_stage(info, can_do, tried, stage):
    assert uia.next_stage(info, can_do, tried) == stage


def test_uia_completes_the_dance():
    sent = []

    def send(auth):
        sent.append(auth)
        if auth is None:
            flows = [{"stages": ["m.login.dummy"]}]
            return httpx.Response(401, json={"session": "s1", "flows": flows})
        return httpx.Response(200, json={"user_id": "@a:hs"})

    response = uia.complete(send, lambda stage, session: {"type": stage, "session": session},
                            ["m.login.dummy"])
    assert response.status_code == 200
    assert sent == [None, {"type": "m.login.dummy", "session": "s1"}]


def exchange(status, body):
    request = httpx.Request("POST", "http://hs.test/_matrix/client/v3/rooms/%21r%3Ahs/join")
    return httpx.Response(status, json=body, request=request)


def test_expect_error_shows_what_the_spec_wanted_and_what_came():
    with pytest.raises(pytest.fail.Exception) as failure:
        expect_error(exchange(200, {"room_id": "!r:hs"}), 403, "M_FORBIDDEN")
    message = str(failure.value)
    assert message.startswith(
        'the spec requires 403 M_FORBIDDEN; the server answered 200 {"room_id"')
    assert "POST /_matrix/client/v3/rooms/!r:hs/join" in message


def test_expect_error_checks_the_errcode_too():
    assert expect_error(exchange(403, {"errcode": "M_FORBIDDEN"}), 403, "M_FORBIDDEN")
    with pytest.raises(pytest.fail.Exception, match="M_FORBIDDEN; the server answered 403"):
        expect_error(exchange(403, {"errcode": "M_UNKNOWN"}), 403, "M_FORBIDDEN")


def test_expect_ok_names_the_step():
    with pytest.raises(pytest.fail.Exception, match="^join !r:hs: expected a 2xx answer"):
        expect_ok(exchange(403, {"errcode": "M_FORBIDDEN"}), "join !r:hs")
    assert expect_ok(exchange(200, {"room_id": "!r:hs"}), "join") == {"room_id": "!r:hs"}
