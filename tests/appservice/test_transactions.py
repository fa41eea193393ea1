# SPDX-License-Identifier: Apache-2.0
"""Pushing room events to the application service: which events, in what form and order.

The homeserver pushes every event the service is interested in with `PUT
/_matrix/app/v1/transactions/{txnId}`: events in a room where a user of its namespaces
is a member, events about such a user, and events of a room in its alias namespace.
A transaction the service refuses is retried, unchanged and under the same ID, before
anything later is sent.

Spec: application-service-api/#pushing-events, #registration,
#put_matrixappv1transactionstxnid.
"""
from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.appservice

TXN_PATH = "/_matrix/app/v1/transactions/"


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def room_with_namespaced_member(hs, appservice):
    """Alice's public room, joined by a user the service registered: (alice, room, user)."""
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    user = appservice.register_user()
    user.join(room)
    appservice.wait_for_event(room, "m.room.member", lambda e: e["state_key"] == user.user_id)
    return alice, room, user


def pushed_ids(appservice, room: str) -> list[str]:
    """IDs of the room's events the service received, in the order it received them."""
    return [event["event_id"] for transaction in appservice.transactions_about(room_id=room)
            for event in transaction.events]


def wait_for_pushed(appservice, room: str, event_id: str, *, accepted: bool = False,
                    timeout: float = 10.0):
    """The transaction that carried `event_id` (once the service accepted it, if asked)."""
    def found():
        for transaction in appservice.transactions_about(room_id=room):
            if any(event["event_id"] == event_id for event in transaction.events):
                if not accepted or 200 in transaction.statuses:
                    return transaction
        return None
    what = f"{event_id} in a transaction" + (" the service accepted" if accepted else "")
    return appservice.wait_for(found, timeout=timeout, what=what)


def deliveries(appservice, room: str) -> list[dict[str, Any]]:
    """Every transaction request about the room, in arrival order: txn ID, status, path,
    and the IDs of the room's events it carried."""
    appservice.records.refresh()
    found = []
    for record in appservice.records.all():
        if record.get("kind") != "transaction" or not isinstance(record.get("body"), dict):
            continue
        events = [e.get("event_id") for e in record["body"].get("events") or []
                  if isinstance(e, dict) and e.get("room_id") == room]
        if events:
            found.append({"txn_id": record["txn_id"], "status": record["status"],
                          "path": record["path"], "events": events})
    return found


# -- which events --------------------------------------------------------------------------


def test_events_in_a_room_with_a_namespaced_member_are_pushed(hs, appservice):
    """A message from an ordinary user reaches the service when a namespaced user is in the room.

    Spec: application-service-api/#registration — a service is interested in the events
    of rooms that a user of its users namespace is in; #pushing-events — the homeserver
    pushes them with PUT /_matrix/app/v1/transactions/{txnId}.
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)

    event_id = alice.send(room, text("hello, bridge"))

    event = appservice.wait_for_event(room, "m.room.message",
                                      lambda e: e["event_id"] == event_id)
    assert (event["sender"], event["content"]) == (alice.user_id, text("hello, bridge")), event


def test_events_sent_by_a_namespaced_user_are_pushed(hs, appservice):
    """A message sent by a namespaced user (through identity assertion) reaches the service.

    Spec: application-service-api/#registration — events from users in the service's
    users namespace interest it.
    """
    _, room, user = room_with_namespaced_member(hs, appservice)

    event_id = user.send(room, text("from the bridge"))

    event = appservice.wait_for_event(room, "m.room.message",
                                      lambda e: e["event_id"] == event_id)
    assert event["sender"] == user.user_id, event


def test_events_of_a_non_exclusive_namespace_user_are_pushed(hs, appservice):
    """A user who registered normally inside a non-exclusive namespace interests the service.

    Spec: application-service-api/#registration — non-exclusive namespaces let other
    users exist in them while the service still watches their rooms.
    """
    shared = hs.register(appservice.fresh_user_localpart(exclusive=False))
    room = shared.create_room()

    event_id = shared.send(room, text("watched, not owned"))

    event = appservice.wait_for_event(room, "m.room.message",
                                      lambda e: e["event_id"] == event_id)
    assert event["sender"] == shared.user_id, event


def invite(alice, room, user):
    alice.invite(room, user.user_id)


def join(alice, room, user):
    alice.invite(room, user.user_id)
    user.join(room)


def leave(alice, room, user):
    join(alice, room, user)
    user.leave(room)


def kick(alice, room, user):
    join(alice, room, user)
    alice.kick(room, user.user_id)


def ban(alice, room, user):
    alice.ban(room, user.user_id)


@pytest.mark.parametrize("change, membership, by_alice", [
    pytest.param(invite, "invite", True, id="invite-before-joining"),
    pytest.param(join, "join", False, id="join"),
    pytest.param(leave, "leave", False, id="leave"),
    pytest.param(kick, "leave", True, id="kick"),
    pytest.param(ban, "ban", True, id="ban"),
])
def test_membership_changes_of_a_namespaced_user_are_pushed(hs, appservice, change, membership,
                                                           by_alice):
    """A membership event about a namespaced user reaches the service, even an invite
    into a room the user has not joined.

    Spec: application-service-api/#registration — an event interests the service when
    it matches one of its namespaces; a member event's state_key names the user it is about.
    """
    alice = hs.register()
    room = alice.create_room()
    user = appservice.register_user()

    change(alice, room, user)

    event = appservice.wait_for_event(
        room, "m.room.member",
        lambda e: e["state_key"] == user.user_id and e["content"]["membership"] == membership)
    assert event["sender"] == (alice.user_id if by_alice else user.user_id), event


def test_room_without_interest_is_not_pushed(hs, appservice):
    """Nothing of a room with no namespaced member and no namespaced alias reaches the service.

    Checked once a later event of the room does reach it (an invite of a namespaced
    user): events are pushed in order, so anything earlier would have come first.

    Spec: application-service-api/#registration — the homeserver passes the service the
    traffic its namespaces cover.
    """
    alice = hs.register()
    room = alice.create_room()
    private = alice.send(room, text("nobody's bridge should see this"))
    user = appservice.register_user()

    alice.invite(room, user.user_id)

    appservice.wait_for_event(room, "m.room.member", lambda e: e["state_key"] == user.user_id)
    leaked = [t for t in appservice.transactions_about(room_id=room)
              if any(e["type"] == "m.room.create" or e["event_id"] == private
                     for e in t.events)]
    assert not leaked, f"events from before the service had any interest were pushed: {leaked}"


def test_events_after_the_last_namespaced_member_left_are_not_pushed(hs, appservice):
    """Once the only namespaced member has left, the room's messages stop reaching the service.

    Checked once a later event about the user (a new invite) reaches it.

    Spec: application-service-api/#registration — interest in a room comes from a
    namespaced user being in it.
    """
    alice, room, user = room_with_namespaced_member(hs, appservice)
    user.leave(room)
    after_leaving = alice.send(room, text("the bridge has gone"))

    alice.invite(room, user.user_id)

    appservice.wait_for_event(room, "m.room.member",
                              lambda e: e["state_key"] == user.user_id
                              and e["content"]["membership"] == "invite")
    assert after_leaving not in pushed_ids(appservice, room)


def test_events_of_a_room_with_a_namespaced_alias_are_pushed(hs, appservice):
    """A room given an alias in the service's alias namespace interests it, with no member of it.

    Spec: application-service-api/#registration — for the aliases namespace, all events
    in a matching room are sent to the service.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    alias = appservice.fresh_alias()
    appservice.as_client().set_alias(alias, room)

    event_id = alice.send(room, text("a bridged channel"))

    event = appservice.wait_for_event(room, "m.room.message",
                                      lambda e: e["event_id"] == event_id)
    assert event["sender"] == alice.user_id, event


# -- the form of a transaction ----------------------------------------------------------------


def test_transactions_are_put_to_the_v1_path_with_the_hs_token(hs, appservice):
    """Events arrive by PUT /_matrix/app/v1/transactions/{txnId}, authorised by the hs_token.

    The suite's service refuses any other token (a fault), so an accepted delivery
    shows the token was right.

    Spec: application-service-api/#authorization — homeservers MUST send
    `Authorization: Bearer <hs_token>`; #legacy-routes — they should try the specified
    /_matrix/app/v1 endpoints first.
    """
    _, room, user = room_with_namespaced_member(hs, appservice)

    event_id = user.send(room, text("which door?"))

    wait_for_pushed(appservice, room, event_id, accepted=True)
    first = next(d for d in deliveries(appservice, room) if event_id in d["events"])
    assert first["path"].startswith(TXN_PATH), first
    assert first["status"] == 200, first


def test_pushed_events_are_in_client_format(hs, appservice):
    """A pushed event has the client format: event_id, room_id, sender, type, content,
    origin_server_ts, the same as the client API serves.

    Spec: application-service-api/#put_matrixappv1transactionstxnid — events are
    formatted as per the Client-Server API (ClientEvent).
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)
    event_id = alice.send(room, text("format check"))

    pushed = appservice.wait_for_event(room, "m.room.message",
                                       lambda e: e["event_id"] == event_id)

    served = alice.event(room, event_id)
    keys = ("event_id", "room_id", "sender", "type", "content", "origin_server_ts")
    assert {k: pushed.get(k) for k in keys} == {k: served.get(k) for k in keys}, \
        f"pushed {pushed}\nserved {served}"


def test_state_events_keep_their_state_key(hs, appservice):
    """A pushed state event carries its state_key; a pushed message event has none.

    Spec: application-service-api/#put_matrixappv1transactionstxnid — services tell
    state events from message events by the presence of state_key.
    """
    alice, room, _ = room_with_namespaced_member(hs, appservice)
    topic = alice.send_state(room, "m.room.topic", {"topic": "bridged"})
    message = alice.send(room, text("after the topic"))

    wait_for_pushed(appservice, room, message)

    pushed = {e["event_id"]: e for t in appservice.transactions_about(room_id=room)
              for e in t.events}
    assert pushed[topic].get("state_key") == "", pushed[topic]
    assert "state_key" not in pushed[message], pushed[message]


def test_events_arrive_in_the_order_they_were_sent(hs, appservice):
    """Events of a room reach the service in the order the room got them.

    Spec: application-service-api/#pushing-events — the events sent to the service
    should be linearised, as if from the event stream; the homeserver MUST keep a queue.
    """
    alice, room, user = room_with_namespaced_member(hs, appservice)
    sent = [(alice if n % 2 else user).send(room, text(f"message {n}")) for n in range(6)]

    wait_for_pushed(appservice, room, sent[-1])

    received = [event_id for event_id in pushed_ids(appservice, room) if event_id in sent]
    assert received == sent


def test_each_delivery_has_its_own_transaction_id(hs, appservice):
    """Separate deliveries use separate transaction IDs, each accepted exactly once.

    Spec: application-service-api/#pushing-events — the transaction ID identifies one
    set of events; a repeated ID means a retry of the same events.
    """
    _, room, user = room_with_namespaced_member(hs, appservice)
    carriers = []
    for n in range(3):
        event_id = user.send(room, text(f"one at a time {n}"))
        carriers.append(wait_for_pushed(appservice, room, event_id, accepted=True))

    assert len({t.txn_id for t in carriers}) == 3, carriers
    assert [t.duplicates for t in carriers] == [0, 0, 0], carriers


# -- retries ----------------------------------------------------------------------------------
# The transaction queue is shared with every other test of the run, and a transaction
# holding data of several tests' rooms fails when any of them asked for failures; so
# these tests count "at least" the failures they asked for, and wait until their room's
# earlier transactions were accepted before asking.


def room_ready_to_fail(hs, appservice, *, times: int):
    """`room_with_namespaced_member`, its transactions accepted; then fail the next
    `times` deliveries about the room."""
    alice, room, user = room_with_namespaced_member(hs, appservice)
    appservice.wait_for(lambda: all(200 in t.statuses
                                    for t in appservice.transactions_about(room_id=room)),
                        what=f"the acceptance of every transaction about {room}")
    appservice.fail_transactions(room, times=times)
    return alice, room, user


def wait_for_failure(appservice, room: str, event_id: str) -> None:
    appservice.wait_for(lambda: any(event_id in d["events"] and d["status"] != 200
                                    for d in deliveries(appservice, room)),
                        what=f"a refused delivery of {event_id}")


def test_failed_transaction_is_retried_with_the_same_id_and_content(hs, appservice):
    """A transaction the service fails twice is sent again, same txnId and same events,
    until it is accepted.

    The suite's service also records a fault if any retry changes the body.

    Spec: application-service-api/#pushing-events — the homeserver retries with the same
    transaction ID, and MUST NOT alter the events of a transaction ID on retries.
    """
    _, room, user = room_ready_to_fail(hs, appservice, times=2)

    event_id = user.send(room, text("try, try again"))

    transaction = wait_for_pushed(appservice, room, event_id, accepted=True, timeout=30)
    *refused, accepted = transaction.statuses
    assert len(refused) >= 2 and 200 not in refused and accepted == 200, transaction
    assert [e["event_id"] for e in transaction.events] == [event_id], transaction


def test_accepted_transaction_is_not_sent_again(hs, appservice):
    """Once the service accepts a retried transaction it is never delivered again.

    Checked once a later event has been delivered: the queue is in order.

    Spec: application-service-api/#pushing-events — retries are of transactions not yet
    acknowledged.
    """
    _, room, user = room_ready_to_fail(hs, appservice, times=1)
    retried = user.send(room, text("retried once"))
    first = wait_for_pushed(appservice, room, retried, accepted=True, timeout=30)

    later = user.send(room, text("the next one"))

    wait_for_pushed(appservice, room, later, accepted=True, timeout=30)
    again = next(t for t in appservice.transactions_about(room_id=room)
                 if t.txn_id == first.txn_id)
    assert again.statuses[0] != 200 and again.statuses[-1] == 200, again
    assert again.duplicates == 0, again


def test_later_events_wait_for_the_failed_transaction(hs, appservice):
    """Events sent while a transaction is failing are delivered only after it succeeds.

    Spec: application-service-api/#pushing-events — the homeserver MUST maintain a queue
    of transactions, and events are linearised.
    """
    _, room, user = room_ready_to_fail(hs, appservice, times=1)
    stuck = user.send(room, text("first, refused once"))
    wait_for_failure(appservice, room, stuck)

    behind = user.send(room, text("second, must wait"))

    wait_for_pushed(appservice, room, behind, accepted=True, timeout=30)
    order = deliveries(appservice, room)
    accepted_at = next(i for i, d in enumerate(order) if stuck in d["events"]
                       and d["status"] == 200)
    first_behind = next(i for i, d in enumerate(order) if behind in d["events"])
    assert first_behind > accepted_at, order


def test_retried_transaction_gains_no_events(hs, appservice):
    """Events sent while a transaction is being retried do not join that transaction.

    Spec: application-service-api/#pushing-events — homeservers MUST NOT alter (e.g. add
    more) events they were going to send within a transaction ID on retries.
    """
    _, room, user = room_ready_to_fail(hs, appservice, times=1)
    stuck = user.send(room, text("refused once"))
    wait_for_failure(appservice, room, stuck)

    newer = [user.send(room, text(f"meanwhile {n}")) for n in range(2)]

    wait_for_pushed(appservice, room, newer[-1], accepted=True, timeout=30)
    retried = wait_for_pushed(appservice, room, stuck, accepted=True)
    attempts = [d for d in deliveries(appservice, room) if d["txn_id"] == retried.txn_id]
    assert [d["events"] for d in attempts] == [[stuck]] * len(attempts), attempts
    assert len(attempts) >= 2 and attempts[-1]["status"] == 200, attempts
