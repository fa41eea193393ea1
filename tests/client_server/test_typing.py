# SPDX-License-Identifier: Apache-2.0
"""Typing notifications: PUT /rooms/{roomId}/typing/{userId} (typing.yaml).

Other members see who is typing as an `m.typing` event in the room's `ephemeral`
section of /sync; the list is replaced as a whole each time it changes.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, joined_to, typing_in


def room_with_member(hs):
    alice, bob = hs.register(), hs.register()
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    return alice, bob, room


def test_typing_user_is_shown_to_other_members(hs):
    """A member who starts typing appears in the room's `m.typing` list for others.

    Spec: client-server-api/#typing-notifications — typing is reported to the room's
    members as `m.typing` ephemeral events listing the users currently typing.
    """
    alice, bob, room = room_with_member(hs)
    alice.typing(room, True, timeout=30000)
    bob.sync_until(typing_in(room, [alice]))


def test_stopping_typing_clears_the_list(hs):
    """After `typing: false`, the user drops out of the room's typing list.

    Spec: client-server-api/#put_matrixclientv3roomsroomidtypinguserid — `typing: false`
    tells the server the user stopped typing; the next `m.typing` list omits them.
    """
    alice, bob, room = room_with_member(hs)
    alice.typing(room, True, timeout=30000)
    bob.sync_until(typing_in(room, [alice]))
    alice.typing(room, False)
    bob.sync_until(typing_in(room, []))


def test_typing_ends_when_its_timeout_runs_out(hs):
    """A typing notice lasts only `timeout` milliseconds unless renewed.

    Spec: client-server-api/#put_matrixclientv3roomsroomidtypinguserid — the user is
    marked as typing for the next `timeout` milliseconds.
    """
    alice, bob, room = room_with_member(hs)
    alice.typing(room, True, timeout=1000)
    bob.sync_until(typing_in(room, [alice]))
    bob.sync_until(typing_in(room, []), timeout=20)


def test_several_typing_users_are_listed_together(hs):
    """When two members type at once, the list names both.

    Spec: client-server-api/#mtyping — `user_ids` lists every user currently typing, and
    clients replace their knowledge with each new list.
    """
    alice, bob, room = room_with_member(hs)
    carol = hs.register()
    carol.join(room)
    alice.typing(room, True, timeout=30000)
    carol.typing(room, True, timeout=30000)
    bob.sync_until(typing_in(room, [alice, carol]))


def test_cannot_set_typing_for_another_user(hs):
    """A member cannot mark someone else as typing.

    Spec: client-server-api/#put_matrixclientv3roomsroomidtypinguserid — `userId` is the
    user who is typing, i.e. the caller. The spec names no status for this refusal and
    says errors are best identified by their code, so M_FORBIDDEN is required with a
    400 or 403 status.
    """
    alice, bob, room = room_with_member(hs)
    response = bob.do("PUT", ["rooms", room, "typing", alice.user_id],
                      json={"typing": True, "timeout": 30000})
    body = response.json() if response.content else {}
    assert response.status_code in (400, 403) and body.get("errcode") == "M_FORBIDDEN", (
        f"expected 403 (or 400) M_FORBIDDEN, got {response.status_code} {body}")


def test_non_member_cannot_type_in_a_room(hs):
    """Someone outside the room cannot send typing notifications to it.

    Spec: client-server-api/#typing-notifications — typing notifications are scoped to a
    room's members; a non-member's attempt is refused with 403 M_FORBIDDEN.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    mallory = hs.register()
    response = mallory.do("PUT", ["rooms", room, "typing", mallory.user_id],
                          json={"typing": True, "timeout": 30000})
    expect_error(response, 403, "M_FORBIDDEN")


@pytest.mark.parametrize("body", [
    pytest.param({"timeout": 30000}, id="missing-typing"),
    pytest.param({"typing": "yes", "timeout": 30000}, id="typing-not-boolean"),
])
def test_invalid_typing_body_is_rejected(hs, body):
    """The body must carry a boolean `typing`; otherwise the request is a 400.

    Spec: client-server-api/#put_matrixclientv3roomsroomidtypinguserid — `typing` is a
    required boolean. A missing key may be reported as M_MISSING_PARAM or M_BAD_JSON and
    a wrong type as M_BAD_JSON or M_INVALID_PARAM (#common-error-codes), so those are
    accepted.
    """
    alice = hs.register()
    room = alice.create_room()
    response = alice.do("PUT", ["rooms", room, "typing", alice.user_id], json=body)
    allowed = {"M_BAD_JSON", "M_MISSING_PARAM"} if "typing" not in body \
        else {"M_BAD_JSON", "M_INVALID_PARAM"}
    error = expect_error(response, 400)
    assert error.get("errcode") in allowed, f"expected one of {sorted(allowed)}: {error}"
