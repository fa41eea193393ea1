# SPDX-License-Identifier: Apache-2.0
"""Reporting content: users tell their server an event, a room or a user is inappropriate.

Spec: client-server-api/#reporting-content and the operations of
`api/client-server/report_content.yaml`. What the server does with a report is its own
business, so these tests check only the answers. Since v1.18 a server MAY answer 200 for
a subject that does not exist (to hide what exists), so the 404 for unknown subjects is
checked only with --optional.
"""
from __future__ import annotations

import secrets

import pytest

from tests.harness.assertions import MISSING_KEY
from tests.harness.checks import expect_error, expect_ok


def _event_report(room: str, event_id: str) -> list[str]:
    return ["rooms", room, "report", event_id]


def _unknown_room(hs) -> str:
    return f"!unknown{secrets.token_hex(6)}:{hs.server_name}"


def test_member_can_report_an_event(hs):
    """A member of a room reports an event in it and gets 200 with an empty object.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreporteventid — the event is
    reported to the server.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, {"msgtype": "m.text", "body": "something rude"})
    answer = bob.do("POST", _event_report(room, event_id), json={"reason": "rude"})
    assert expect_ok(answer, "report an event") == {}


def test_event_report_needs_no_reason(hs):
    """An event report without a `reason` is accepted: only rooms and users need one.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreporteventid — `reason` is
    an optional field of the body.
    """
    alice = hs.register()
    room = alice.create_room()
    event_id = alice.send(room, {"msgtype": "m.text", "body": "hello"})
    expect_ok(alice.do("POST", _event_report(room, event_id), json={}), "report an event")


def test_non_member_cannot_report_an_event(hs):
    """Someone not joined to the room cannot report its events: 404 M_NOT_FOUND.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreporteventid — since v1.8
    the caller must be joined to the room; 404 when the caller is not joined.
    """
    alice, mallory = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    event_id = alice.send(room, {"msgtype": "m.text", "body": "hello"})
    expect_error(mallory.do("POST", _event_report(room, event_id), json={"reason": "x"}),
                 404, "M_NOT_FOUND")


def test_former_member_cannot_report_an_event(hs):
    """A user who left the room can no longer report its events: 404 M_NOT_FOUND.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreporteventid — the caller
    must be joined to the room to report.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, {"msgtype": "m.text", "body": "hello"})
    bob.leave(room)
    expect_error(bob.do("POST", _event_report(room, event_id), json={"reason": "x"}),
                 404, "M_NOT_FOUND")


@pytest.mark.optional
def test_unknown_event_report_answers_not_found(hs):
    """Reporting an event that does not exist, in a room one is joined to, answers 404.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreporteventid — 404
    M_NOT_FOUND when the event was not found (since v1.18 a server MAY answer 200).
    """
    alice = hs.register()
    room = alice.create_room()
    missing = f"${secrets.token_hex(16)}"
    expect_error(alice.do("POST", _event_report(room, missing), json={"reason": "x"}),
                 404, "M_NOT_FOUND")


@pytest.mark.spec("1.13")
def test_non_member_can_report_a_room(hs):
    """Anyone may report a room, joined to it or not.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreport — the caller is not
    required to be joined to the room.
    """
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    answer = bob.do("POST", ["rooms", room, "report"], json={"reason": "spam room"})
    assert expect_ok(answer, "report a room") == {}


@pytest.mark.spec("1.13")
def test_room_report_reason_may_be_blank(hs):
    """A room report with an empty `reason` is accepted.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreport — the reason may be blank.
    """
    alice = hs.register()
    room = alice.create_room()
    expect_ok(alice.do("POST", ["rooms", room, "report"], json={"reason": ""}), "report a room")


@pytest.mark.spec("1.13")
def test_room_report_requires_a_reason(hs):
    """A room report without `reason` is refused with 400.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreport — `reason` is required.
    """
    alice = hs.register()
    room = alice.create_room()
    expect_error(alice.do("POST", ["rooms", room, "report"], json={}), 400, MISSING_KEY)


@pytest.mark.optional
@pytest.mark.spec("1.13")
def test_unknown_room_report_answers_not_found(hs):
    """Reporting a room the server does not know answers 404 M_NOT_FOUND.

    Spec: client-server-api/#post_matrixclientv3roomsroomidreport — 404 when the room was
    not found (since v1.18 a server MAY answer 200 to hide which rooms exist).
    """
    alice = hs.register()
    expect_error(alice.do("POST", ["rooms", _unknown_room(hs), "report"], json={"reason": "x"}),
                 404, "M_NOT_FOUND")


@pytest.mark.spec("1.14")
def test_user_can_be_reported_without_a_shared_room(hs):
    """A user can report another user they share no room with.

    Spec: client-server-api/#post_matrixclientv3usersuseridreport — the caller need not
    be joined to any room the reported user is in.
    """
    alice, mallory = hs.register(), hs.register()
    answer = alice.do("POST", ["users", mallory.user_id, "report"], json={"reason": "spam"})
    assert expect_ok(answer, "report a user") == {}


@pytest.mark.spec("1.14")
def test_user_report_requires_a_reason(hs):
    """A user report without `reason` is refused with 400.

    Spec: client-server-api/#post_matrixclientv3usersuseridreport — `reason` is required.
    """
    alice, mallory = hs.register(), hs.register()
    expect_error(alice.do("POST", ["users", mallory.user_id, "report"], json={}),
                 400, MISSING_KEY)


@pytest.mark.optional
@pytest.mark.spec("1.14")
def test_unknown_user_report_answers_not_found(hs):
    """Reporting a local user who does not exist answers 404 M_NOT_FOUND.

    Spec: client-server-api/#post_matrixclientv3usersuseridreport — 404 when the user was
    not found (a server MAY instead answer 200 to hide which users exist).
    """
    alice = hs.register()
    nobody = f"@nobody-{secrets.token_hex(6)}:{hs.server_name}"
    expect_error(alice.do("POST", ["users", nobody, "report"], json={"reason": "x"}),
                 404, "M_NOT_FOUND")
