# SPDX-License-Identifier: Apache-2.0
"""Identity assertion: the `as_token` acts as the service's bot or, with `user_id`, as
one of its registered users; nobody else can assert an identity.

Spec: application-service-api/#identity-assertion,
client-server-api/#get_matrixclientv3accountwhoami.
"""
from __future__ import annotations

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.checks import timeline_has

pytestmark = pytest.mark.appservice


def text(body: str) -> dict:
    return {"msgtype": "m.text", "body": body}


def test_as_token_alone_acts_as_the_sender(appservice):
    """Without `user_id`, the as_token acts as the user named by `sender_localpart`.

    Spec: application-service-api/#identity-assertion — with no `user_id` parameter the
    homeserver assumes the service acts as its `sender_localpart` user.
    """
    me = appservice.as_client().whoami()
    assert me["user_id"] == appservice.sender, f"whoami says {me}, the sender is {appservice.sender}"


def test_user_id_masquerades_as_a_registered_namespaced_user(appservice):
    """With `user_id` of a registered user in its namespace, the service acts as that user.

    Spec: application-service-api/#identity-assertion — the `user_id` query parameter
    names the user to act as; client-server-api/#get_matrixclientv3accountwhoami returns
    that user for a masquerading service.
    """
    user = appservice.register_user()
    me = user.whoami()
    assert me["user_id"] == user.user_id, f"whoami as {user.user_id} says {me}"


def test_masqueraded_message_is_sent_by_the_asserted_user(hs, appservice):
    """An event sent while masquerading has the asserted user as its sender.

    Spec: application-service-api/#identity-assertion — assertion applies to all of
    the client-server API; the request acts as the named user, so others see that user
    as the sender.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    user = appservice.register_user()
    user.join(room)
    event_id = user.send(room, text("sent as a bridged user"))
    alice.sync_until(timeline_has(room, event_id=event_id))
    event = alice.event(room, event_id)
    assert event["sender"] == user.user_id, f"the event's sender is {event['sender']}"


def test_user_id_of_the_sender_acts_as_the_sender(appservice):
    """Naming the service's own sender as `user_id` is the same as naming nobody.

    Spec: application-service-api/#identity-assertion — the sender is the user implied by
    the registration, so it is the service's to act as.
    """
    me = appservice.as_client(user_id=appservice.sender).whoami()
    assert me["user_id"] == appservice.sender, f"whoami as the sender says {me}"


def _ordinary_user(hs, appservice):
    return hs.register().user_id


def _unregistered_namespaced_user(hs, appservice):
    return appservice.fresh_user_id()


def _namespaced_id_on_another_server(hs, appservice):
    # The users regex matches any server name, but namespaces only cover local users.
    return f"@{appservice.fresh_user_localpart()}:elsewhere.invalid"


@pytest.mark.parametrize("asserted", [
    pytest.param(_ordinary_user, id="user-outside-every-namespace"),
    pytest.param(_unregistered_namespaced_user, id="namespaced-user-never-registered"),
    pytest.param(_namespaced_id_on_another_server, id="remote-user-matching-the-regex"),
])
def test_service_cannot_assert_a_user_it_does_not_control(hs, appservice, asserted):
    """Asserting a user outside the namespace, or one not registered, is refused with 403.

    Spec: application-service-api/#identity-assertion — the asserted user must be covered
    by one of the service's users namespaces (which only cover local users);
    client-server-api/#get_matrixclientv3accountwhoami — 403 (M_FORBIDDEN) when the
    service cannot masquerade as the user or has not registered them.
    """
    user_id = asserted(hs, appservice)
    response = appservice.as_client(user_id=user_id).do("GET", ["account", "whoami"])
    expect_error(response, 403, "M_FORBIDDEN")


def test_refused_assertion_sends_nothing(hs, appservice):
    """A refused assertion does not act as anybody: no event reaches the room.

    Spec: application-service-api/#identity-assertion — only users in the service's
    namespace may be asserted; a refused request has no effect.
    """
    alice = hs.register()
    room = alice.create_room(preset="public_chat")
    bob = hs.register()
    bob.join(room)
    response = appservice.as_client(user_id=bob.user_id).do(
        "PUT", ["rooms", room, "send", "m.room.message", f"t-{appservice.tag}"],
        json=text("forged"))
    expect_error(response, 403, "M_FORBIDDEN")
    events = alice.messages(room, limit=50)["chunk"]
    forged = [e for e in events if e.get("content", {}).get("body") == "forged"]
    assert not forged, f"a refused assertion still sent {forged}"


def test_user_token_ignores_user_id_parameter(hs, appservice):
    """A user's own access token cannot assert identities: `user_id` changes nothing.

    Spec: application-service-api/#identity-assertion — only the as_token may name a user
    to act as; for anyone else the access token alone identifies the caller
    (client-server-api/#get_matrixclientv3accountwhoami).
    """
    alice = hs.register()
    user = appservice.register_user()
    me = expect_ok(alice.do("GET", ["account", "whoami"], params={"user_id": user.user_id}),
                   "whoami with another user's ID as user_id")
    assert me["user_id"] == alice.user_id, f"alice's token with user_id={user.user_id}: {me}"
