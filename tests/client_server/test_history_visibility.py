# SPDX-License-Identifier: Apache-2.0
"""History visibility: which events a user may read, by each API that serves events.

For each `m.room.history_visibility` option (`world_readable`, `shared`, `invited`,
`joined`) the scenarios check what a new member, an invitee, a former member and a
non-member are served by GET /rooms/{roomId}/event/{eventId}, /context, /messages,
/state and /sync. The rules are decided per event, from the room state when it was
sent (client-server-api/#room-history-visibility, "Server behaviour").

A hidden event is answered as if it did not exist: GET /event documents 404 for "not
found or not allowed"; /context documents no error, and both 403 M_FORBIDDEN (no
access) and 404 M_NOT_FOUND (hiding the event) are accepted there.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok, expect_one_error
from tests.harness.checks import invited_to, joined_to, left, timeline_has

MAX_PAGES = 50
WIDE_TIMELINE = {"room": {"timeline": {"limit": 50}}}


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def visibility_state(visibility: str) -> dict:
    return {"type": "m.room.history_visibility", "state_key": "",
            "content": {"history_visibility": visibility}}


def room_with_visibility(alice, visibility: str, preset: str = "private_chat") -> str:
    return alice.create_room(preset=preset, initial_state=[visibility_state(visibility)])


def set_visibility(client, room: str, visibility: str) -> str:
    return client.send_state(room, "m.room.history_visibility",
                             {"history_visibility": visibility})


def read_forwards(client, room: str) -> list[dict]:
    """Every event /messages serves the client, oldest first, following `end`."""
    events: list[dict] = []
    token = None
    for _ in range(MAX_PAGES):
        page = client.messages(room, dir="f", from_=token, limit=20)
        events.extend(page["chunk"])
        if "end" not in page:
            return events
        token = page["end"]
    pytest.fail(f"/messages still returned `end` after {MAX_PAGES} pages", pytrace=False)


def bodies(events: list[dict]) -> list[str]:
    return [e["content"].get("body") for e in events if e.get("type") == "m.room.message"]


def get_event(client, room: str, event_id: str):
    return client.do("GET", ["rooms", room, "event", event_id])


def expect_hidden(response) -> None:
    """GET /event on an event the caller may not see: 404 (rooms.yaml, getOneRoomEvent)."""
    expect_error(response, 404, "M_NOT_FOUND")


def expect_context_refused(response) -> None:
    """/context for an event the caller may not see: 403 or 404 (see module docstring)."""
    expect_one_error(response, (403, "M_FORBIDDEN"), (404, "M_NOT_FOUND"))


def context(client, room: str, event_id: str, limit: int = 20) -> dict:
    response = client.do("GET", ["rooms", room, "context", event_id], params={"limit": limit})
    return expect_ok(response, f"get the context of {event_id}")


def new_member_scenario(hs, visibility: str):
    """Alice's room: "before-invite", Bob invited, "after-invite", Bob joins, "after-join".

    Returns (alice, bob, room, {label: event ID}).
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, visibility)
    sent = {"before-invite": alice.send(room, text("before-invite"))}
    alice.invite(room, bob)
    sent["after-invite"] = alice.send(room, text("after-invite"))
    bob.join(room)
    sent["after-join"] = alice.send(room, text("after-join"))
    return alice, bob, room, sent


# What a new member may see of the three messages, one row per visibility option.
NEW_MEMBER_SEES = [
    pytest.param("world_readable", ["before-invite", "after-invite", "after-join"],
                 id="world_readable"),
    pytest.param("shared", ["before-invite", "after-invite", "after-join"], id="shared"),
    pytest.param("invited", ["after-invite", "after-join"], id="invited"),
    pytest.param("joined", ["after-join"], id="joined"),
]


# -- a new member -------------------------------------------------------------------------


@pytest.mark.parametrize("visibility,visible", NEW_MEMBER_SEES)
def test_new_member_gets_events_by_id_as_visibility_allows(hs, visibility, visible):
    """GET /event serves a new member exactly the earlier events the visibility allows.

    Spec: client-server-api/#room-history-visibility — `world_readable` and `shared`
    show all history to a member, `invited` shows events from the member's invite on,
    `joined` from their join on; GET /event answers 404 for an event the user may not
    see (client-server-api/#get_matrixclientv3roomsroomideventeventid).
    """
    alice, bob, room, sent = new_member_scenario(hs, visibility)
    for label, event_id in sent.items():
        response = get_event(bob, room, event_id)
        if label in visible:
            served = expect_ok(response, f"get {label} as a new member ({visibility})")
            assert served["content"] == text(label), f"{label} served as {served}"
        else:
            expect_hidden(response)


@pytest.mark.parametrize("visibility,visible", NEW_MEMBER_SEES)
def test_new_member_context_holds_only_visible_events(hs, visibility, visible):
    """/context around a new member's first message includes only the events they may see.

    Spec: client-server-api/#room-history-visibility and
    client-server-api/#get_matrixclientv3roomsroomidcontexteventid — the surrounding
    events are the ones just before the event that the user is allowed to see.
    """
    alice, bob, room, sent = new_member_scenario(hs, visibility)
    body = context(bob, room, sent["after-join"])
    seen = sorted(bodies(body.get("events_before", []) + [body["event"]]))
    assert seen == sorted(visible), (
        f"with history_visibility={visibility} the context should show {visible}, "
        f"it shows {seen}")


@pytest.mark.parametrize("visibility,hidden", [
    pytest.param("invited", "before-invite", id="invited"),
    pytest.param("joined", "after-invite", id="joined"),
])
def test_new_member_gets_no_context_for_hidden_event(hs, visibility, hidden):
    """A new member asking for the context of an event hidden from them is refused.

    Spec: client-server-api/#room-history-visibility — the user may not see the event,
    so the server must not serve it, nor its surroundings, through /context.
    """
    alice, bob, room, sent = new_member_scenario(hs, visibility)
    expect_context_refused(bob.do("GET", ["rooms", room, "context", sent[hidden]]))


@pytest.mark.parametrize("visibility,hidden", [
    pytest.param("invited", ["before-invite"], id="invited"),
    pytest.param("joined", ["before-invite", "after-invite"], id="joined"),
])
def test_new_member_initial_sync_hides_earlier_events(hs, visibility, hidden):
    """A new member's /sync timeline never contains events sent before they could see.

    Spec: client-server-api/#room-history-visibility — events from before the invite
    (`invited`) or the join (`joined`) are not accessible to the new member, whichever
    API is used, /sync included.
    """
    alice, bob, room, sent = new_member_scenario(hs, visibility)
    body = bob.sync_until(joined_to(room), timeline_has(room, sent["after-join"]),
                          filter=WIDE_TIMELINE)
    timeline = body["rooms"]["join"][room]["timeline"]["events"]
    leaked = [label for label in hidden if sent[label] in {e["event_id"] for e in timeline}]
    assert not leaked, (
        f"with history_visibility={visibility}, {leaked} must not be in bob's timeline")


def test_incremental_sync_after_joining_hides_events_sent_while_invited(hs):
    """Under `joined`, a message sent while Bob was only invited never reaches his sync.

    Spec: client-server-api/#room-history-visibility — with `joined`, events are
    accessible from the user's join onwards; the message sent after Bob's last sync
    but before his join is still hidden from him.
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, "joined")
    alice.invite(room, bob)
    bob.sync_until(invited_to(room))
    hidden = alice.send(room, text("while bob is invited"))
    bob.join(room)
    shown = alice.send(room, text("after bob joined"))
    body = bob.sync_until(timeline_has(room, shown), filter=WIDE_TIMELINE)
    timeline = body["rooms"]["join"][room]["timeline"]["events"]
    assert hidden not in {e["event_id"] for e in timeline}, (
        "a message sent while bob was invited reached his sync in a `joined` room")


def test_new_member_sees_own_join_in_a_joined_room(hs):
    """Under `joined` a new member can read their own join event.

    Spec: client-server-api/#room-history-visibility — a user should see their own
    membership events whenever their membership before or after the event would allow
    it; after a join it is `join`.
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, "joined", preset="public_chat")
    bob.join(room)
    join = next(e for e in bob.room_state(room)
                if e["type"] == "m.room.member" and e["state_key"] == bob.user_id)
    served = expect_ok(get_event(bob, room, join["event_id"]), "get my own join event")
    assert served["content"]["membership"] == "join", f"own join served as {served}"


def test_joined_visibility_does_not_hide_current_state(hs):
    """A new member of a `joined` room still gets the room's current state.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstate — a member gets the
    current state of the room; history visibility governs events, not the state a
    member needs (a topic set before the join is part of it).
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, "joined", preset="public_chat")
    alice.send_state(room, "m.room.topic", {"topic": "set before bob came"})
    bob.join(room)
    assert bob.get_state(room, "m.room.topic") == {"topic": "set before bob came"}
    types = {e["type"] for e in bob.room_state(room)}
    assert "m.room.topic" in types, f"/state lacks the topic: {sorted(types)}"


# -- visibility is decided when each event is sent ----------------------------------------


@pytest.mark.parametrize("first,then,visible", [
    pytest.param("joined", "shared", False, id="joined-then-shared"),
    pytest.param("shared", "joined", True, id="shared-then-joined"),
])
def test_visibility_at_sending_time_decides(hs, first, then, visible):
    """Changing the visibility later neither reveals nor hides events already sent.

    Spec: client-server-api/#room-history-visibility — the options apply at the point
    an event is sent: the state at the event decides, so clients cannot widen or narrow
    access to history retrospectively.
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, first, preset="public_chat")
    early = alice.send(room, text("early"))
    set_visibility(alice, room, then)
    bob.join(room)
    response = get_event(bob, room, early)
    seen = bodies(read_forwards(bob, room))
    if visible:
        expect_ok(response, f"get a message sent under `{first}` after joining")
        assert "early" in seen, f"/messages should show the early message: {seen}"
    else:
        expect_hidden(response)
        assert "early" not in seen, f"/messages leaks the early message: {seen}"


# -- non-members --------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["shared", "invited", "joined"])
def test_non_member_reads_nothing_unless_world_readable(hs, visibility):
    """Someone who never joined cannot read a room that is not world-readable.

    Spec: client-server-api/#room-history-visibility — except with `world_readable`, a
    user must join to see events: /messages refuses a non-member (403 M_FORBIDDEN) and
    GET /event hides the event (404).
    """
    alice, mallory = hs.register(), hs.register()
    room = room_with_visibility(alice, visibility, preset="public_chat")
    event_id = alice.send(room, text("members only"))
    expect_error(mallory.do("GET", ["rooms", room, "messages"], params={"dir": "b"}),
                 403, "M_FORBIDDEN")
    expect_hidden(get_event(mallory, room, event_id))
    expect_context_refused(mallory.do("GET", ["rooms", room, "context", event_id]))


def test_non_member_reads_world_readable_room(hs):
    """A user who never joined may read a world-readable room's messages.

    Spec: client-server-api/#room-history-visibility and #room-previews — events sent
    while the room is `world_readable` may be shown to any authenticated user, and
    clients read them without joining through /messages and GET /event.
    """
    alice, mallory = hs.register(), hs.register()
    room = room_with_visibility(alice, "world_readable", preset="public_chat")
    event_id = alice.send(room, text("for everyone"))
    served = expect_ok(get_event(mallory, room, event_id), "get a world-readable event")
    assert served["content"] == text("for everyone"), f"served {served}"
    assert "for everyone" in bodies(read_forwards(mallory, room))


def test_non_member_sees_only_events_sent_while_world_readable(hs):
    """A non-member of a room made world-readable later sees only the later events.

    Spec: client-server-api/#room-previews (server behaviour) — for users not in the
    room, servers return only events whose room state had `world_readable`.
    """
    alice, mallory = hs.register(), hs.register()
    room = room_with_visibility(alice, "shared", preset="public_chat")
    private = alice.send(room, text("members only"))
    set_visibility(alice, room, "world_readable")
    public = alice.send(room, text("for everyone"))
    seen = bodies(read_forwards(mallory, room))
    assert "for everyone" in seen and "members only" not in seen, (
        f"a non-member should read only the world-readable message: {seen}")
    expect_ok(get_event(mallory, room, public), "get the world-readable message")
    expect_hidden(get_event(mallory, room, private))


def test_non_member_loses_sight_when_world_readable_ends(hs):
    """Events sent after a room stops being world-readable are hidden from non-members.

    Spec: client-server-api/#room-previews (server behaviour) and
    #room-history-visibility — the state at each event decides; a message sent under
    `joined` is not readable by someone who never joined.
    """
    alice, mallory = hs.register(), hs.register()
    room = room_with_visibility(alice, "world_readable", preset="public_chat")
    set_visibility(alice, room, "joined")
    later = alice.send(room, text("members only now"))
    expect_hidden(get_event(mallory, room, later))


@pytest.mark.parametrize("start,end", [
    pytest.param("world_readable", "joined", id="leaving-world-readable"),
    pytest.param("joined", "world_readable", id="entering-world-readable"),
])
def test_non_member_sees_the_change_at_the_world_readable_boundary(hs, start, end):
    """The history visibility event that starts or ends `world_readable` is readable by
    non-members.

    Spec: client-server-api/#room-history-visibility — for `m.room.history_visibility`
    events the user should be allowed to see the event if the visibility before *or*
    after it allows them to.
    """
    alice, mallory = hs.register(), hs.register()
    room = room_with_visibility(alice, start, preset="public_chat")
    change = set_visibility(alice, room, end)
    served = expect_ok(get_event(mallory, room, change),
                       f"get the {start} → {end} change as a non-member")
    assert served["content"] == {"history_visibility": end}, f"served {served}"


# -- invitees -----------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["shared", "invited", "joined"])
def test_invitee_cannot_read_events_from_before_the_invite(hs, visibility):
    """An invited user who has not joined cannot read events sent before the invite.

    Spec: client-server-api/#room-history-visibility — `shared` history opens to users
    once they join, `invited` from the invite on, `joined` from the join on: none
    reaches an invitee's view of the time before the invite.
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, visibility)
    earlier = alice.send(room, text("before the invite"))
    alice.invite(room, bob)
    expect_hidden(get_event(bob, room, earlier))


# -- former members -----------------------------------------------------------------------


def former_member_scenario(hs, visibility: str, how: str):
    """Bob joins, "while-member" is sent, Bob goes (`how`), "after-leaving" is sent."""
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, visibility, preset="public_chat")
    bob.join(room)
    during = alice.send(room, text("while-member"))
    if how == "leave":
        bob.leave(room)
    elif how == "kick":
        alice.kick(room, bob)
    else:
        alice.ban(room, bob)
    after = alice.send(room, text("after-leaving"))
    return alice, bob, room, during, after


@pytest.mark.parametrize("how", ["leave", "kick", "ban"])
@pytest.mark.parametrize("visibility", ["shared", "joined"])
def test_former_member_cannot_get_events_after_leaving(hs, visibility, how):
    """After leaving (or being kicked or banned) a user cannot fetch newer events.

    Spec: client-server-api/#room-history-visibility — after a user has left a room
    they see no events received after they left; for `joined` and `shared` events stop
    being accessible once the membership is no longer `join`.
    """
    alice, bob, room, during, after = former_member_scenario(hs, visibility, how)
    expect_hidden(get_event(bob, room, after))


def test_former_member_messages_stop_at_leaving(hs):
    """/messages for a former member ends where they left.

    Spec: client-server-api/#room-history-visibility — no events received after the
    user left the room.
    """
    alice, bob, room, during, after = former_member_scenario(hs, "shared", "leave")
    seen = bodies(read_forwards(bob, room))
    assert "after-leaving" not in seen, f"bob reads a message sent after he left: {seen}"


def test_former_member_context_stops_at_leaving(hs):
    """/context around a former member's last visible event shows nothing newer.

    Spec: client-server-api/#room-history-visibility — events received after the user
    left are not visible, including as the surroundings of an earlier event.
    """
    alice, bob, room, during, after = former_member_scenario(hs, "shared", "leave")
    response = bob.do("GET", ["rooms", room, "context", during], params={"limit": 20})
    if response.status_code == 200:
        around = response.json().get("events_after", [])
        assert after not in {e["event_id"] for e in around}, (
            "the context shows bob a message sent after he left")
    else:
        expect_context_refused(response)
    expect_context_refused(bob.do("GET", ["rooms", room, "context", after]))


def test_former_member_sync_stops_at_leaving(hs):
    """A former member's sync of the left room ends with their leave, not later events.

    Spec: client-server-api/#get_matrixclientv3sync (rooms.leave) and
    #room-history-visibility — the left room's timeline runs up to the leave; events
    sent afterwards are never served to the former member.
    """
    alice, bob = hs.register(), hs.register()
    room = room_with_visibility(alice, "shared", preset="public_chat")
    bob.join(room)
    bob.sync_until(joined_to(room))
    bob.leave(room)
    after = alice.send(room, text("after-leaving"))
    body = bob.sync_until(left(room), filter=WIDE_TIMELINE)
    timeline = body["rooms"]["leave"][room].get("timeline", {}).get("events", [])
    assert after not in {e["event_id"] for e in timeline}, (
        "the left room's timeline contains a message sent after bob left")
    later = bob.sync(filter={"room": {"include_leave": True, "timeline": {"limit": 50}}})
    for section in ("join", "leave"):
        events = (later.get("rooms", {}).get(section, {}).get(room, {})
                  .get("timeline", {}).get("events", []))
        assert after not in {e["event_id"] for e in events}, (
            f"a full sync shows bob, in rooms.{section}, a message sent after he left")


def test_former_member_state_is_as_of_leaving(hs):
    """A former member reads the state as it was when they left, not later changes.

    Spec: client-server-api/#get_matrixclientv3roomsroomidstate — for a user who left,
    the state of the room when they left; GET /state/{type}/{key} answers 404 for state
    the room did not have then.
    """
    alice, bob, room, during, after = former_member_scenario(hs, "shared", "leave")
    alice.send_state(room, "m.room.topic", {"topic": "changed after bob left"})
    topics = [e["content"] for e in bob.room_state(room) if e["type"] == "m.room.topic"]
    assert {"topic": "changed after bob left"} not in topics, (
        f"bob's view of the state includes a topic set after he left: {topics}")
    # The room had no topic when bob left.
    expect_error(bob.do("GET", ["rooms", room, "state", "m.room.topic", ""]), 404, "M_NOT_FOUND")
