# SPDX-License-Identifier: Apache-2.0
"""Send-to-device messages between servers: m.direct_to_device EDUs.

Spec: server-server-api/#send-to-device-messaging, client-server-api/#send-to-device-messaging.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import Check, without
from tests.harness.e2ee import send_to_device, to_device_events, to_device_has
from tests.harness.federation_e2ee import direct_to_device
from tests.harness.federation_handlers import handle_keys, handle_transactions

pytestmark = pytest.mark.federation
EVENT_TYPE = "org.example.conformance.ping"


def saying(text: str):
    return lambda content: content.get("text") == text


def test_a_peers_message_reaches_the_local_device(hs, fake_homeserver):
    """An m.direct_to_device EDU from a peer user is delivered to the named local device.

    Spec: server-server-api/#send-to-device-messaging — messages travel as
    m.direct_to_device EDUs; client-server-api/#extensions-to-sync — the device gets them
    in `to_device.events`, with the sender and type of the EDU.
    """
    peer = fake_homeserver(handle_keys())
    bob, alice = peer.user_id("bob"), hs.register()

    peer.client().send_transaction(edus=[direct_to_device(
        bob, EVENT_TYPE, {alice.user_id: {alice.device_id: {"text": "over the wire"}}})])

    alice.sync_until(to_device_has(bob, EVENT_TYPE, saying("over the wire")))


def test_a_star_from_a_peer_reaches_every_local_device(hs, fake_homeserver):
    """The device ID `*` in an m.direct_to_device EDU reaches all the user's devices.

    Spec: server-server-api/#send-to-device-messaging — `messages` maps user to device ID,
    where `*` means all the user's devices.
    """
    peer = fake_homeserver(handle_keys())
    bob, alice = peer.user_id("bob"), hs.register()
    phone = alice.new_device()

    peer.client().send_transaction(edus=[direct_to_device(
        bob, EVENT_TYPE, {alice.user_id: {"*": {"text": "to all"}}})])

    for device in (alice, phone):
        device.sync_until(to_device_has(bob, EVENT_TYPE, saying("to all")))


def test_a_repeated_message_id_is_delivered_once(hs, fake_homeserver):
    """The same message ID sent in two transactions is delivered once.

    Spec: server-server-api/#send-to-device-messaging — `message_id` is unique per
    message so the receiver can tell a repeat; a later message shows the inbox was read
    past both copies.
    """
    peer = fake_homeserver(handle_keys())
    bob, alice = peer.user_id("bob"), hs.register()
    federation = peer.client()
    repeated = direct_to_device(bob, EVENT_TYPE, {alice.user_id: {alice.device_id: {
        "text": "once"}}}, message_id="same-id")
    federation.send_transaction(edus=[repeated])
    federation.send_transaction(edus=[repeated])
    federation.send_transaction(edus=[direct_to_device(
        bob, EVENT_TYPE, {alice.user_id: {alice.device_id: {"text": "after"}}})])
    received: list[str] = []

    def collect(body: dict) -> str | None:
        received.extend(e["content"].get("text") for e in to_device_events(body, EVENT_TYPE))
        return None if "after" in received else f"received so far: {received}"

    alice.sync_until(Check("the message after the repeat", collect))
    assert received.count("once") == 1, received


def test_a_message_whose_sender_is_not_of_the_sending_server_is_ignored(hs, fake_homeserver):
    """An m.direct_to_device EDU whose sender belongs to another server is dropped.

    Spec: server-server-api/#edus — EDUs come from the origin server about its own users;
    a server must not accept one server speaking for another's users. A genuine message
    sent after it shows the transaction was processed.
    """
    peer = fake_homeserver(handle_keys())
    bob, alice, carol = peer.user_id("bob"), hs.register(), hs.register()

    peer.client().send_transaction(edus=[
        direct_to_device(carol.user_id, EVENT_TYPE,
                         {alice.user_id: {alice.device_id: {"text": "forged"}}}),
        direct_to_device(bob, EVENT_TYPE, {alice.user_id: {alice.device_id: {"text": "real"}}}),
    ])

    alice.sync_until(without(to_device_has(bob, EVENT_TYPE, saying("real")),
                             to_device_has(carol, EVENT_TYPE, saying("forged"))))


def test_a_local_message_for_a_peer_user_is_sent_as_an_edu(hs, fake_homeserver):
    """A local client's message to a peer user's device reaches the peer as an
    m.direct_to_device EDU with the sender, type, a message ID and the messages.

    Spec: client-server-api/#send-to-device-messaging — messages for users on remote
    domains are sent on via federation; server-server-api/#send-to-device-messaging.
    """
    edus: list[dict] = []
    peer = fake_homeserver(handle_keys(), handle_transactions(on_edu=edus.append))
    bob, alice = peer.user_id("bob"), hs.register()

    send_to_device(alice, EVENT_TYPE, {bob: {"BOBPHONE": {"text": "across"}}})

    edu = peer.wait_until(lambda: next((e for e in edus
                                        if e.get("edu_type") == "m.direct_to_device"), None),
                          what="an m.direct_to_device EDU")["content"]
    assert edu["sender"] == alice.user_id and edu["type"] == EVENT_TYPE, edu
    assert edu["messages"] == {bob: {"BOBPHONE": {"text": "across"}}}, edu
    assert isinstance(edu.get("message_id"), str) and edu["message_id"], edu
