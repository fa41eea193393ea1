# SPDX-License-Identifier: Apache-2.0
"""Send-to-device messaging: events for particular devices, delivered through /sync.

Spec: client-server-api/#send-to-device-messaging.
"""
from __future__ import annotations

from tests.harness.checks import Check, expect_error, without
from tests.harness.e2ee import send_to_device, to_device_events, to_device_has

EVENT_TYPE = "org.example.conformance.ping"


def saying(text: str):
    return lambda content: content.get("text") == text


def test_a_message_reaches_the_named_device_with_sender_and_type(hs):
    """A message to one device arrives in its /sync as an event with sender, type and
    the content sent.

    Spec: client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid — messages map
    user to device to content; client-server-api/#extensions-to-sync — `to_device.events`
    holds events with `sender`, `type` and `content`.
    """
    alice, bob = hs.register(), hs.register()

    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "hello"}}})

    body = bob.sync_until(to_device_has(alice, EVENT_TYPE, saying("hello")))
    event = next(e for e in to_device_events(body, EVENT_TYPE) if e["sender"] == alice.user_id)
    assert event["content"] == {"text": "hello"}, event


def test_a_message_for_one_device_does_not_reach_the_users_other_devices(hs):
    """A message for one device is not delivered to another device of the same user.

    Spec: client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid — messages are
    sent to the devices named. A later message for the other device shows its sync
    would have delivered the first.
    """
    alice, bob = hs.register(), hs.register()
    phone = bob.new_device()

    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "laptop only"}}})
    send_to_device(alice, EVENT_TYPE, {bob.user_id: {phone.device_id: {"text": "phone"}}})

    phone.sync_until(without(to_device_has(alice, EVENT_TYPE, saying("phone")),
                             to_device_has(alice, EVENT_TYPE, saying("laptop only"))))


def test_a_message_is_not_delivered_again_once_acknowledged(hs):
    """After a sync with a later token, a delivered message does not come back.

    Spec: client-server-api/#send-to-device-messaging (server behaviour) — when the
    client syncs with the `next_batch` of the answer that listed a message, the server
    infers its delivery and deletes it.
    """
    alice, bob = hs.register(), hs.register()
    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "first"}}})
    bob.sync_until(to_device_has(alice, EVENT_TYPE, saying("first")))

    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "second"}}})

    bob.sync_until(without(to_device_has(alice, EVENT_TYPE, saying("second")),
                           to_device_has(alice, EVENT_TYPE, saying("first"))))


def test_a_star_reaches_every_device_of_the_user(hs):
    """The device ID `*` delivers the message to all the user's devices.

    Spec: client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid — the device ID
    may be `*`, meaning all known devices of the user.
    """
    alice, bob = hs.register(), hs.register()
    phone = bob.new_device()

    send_to_device(alice, EVENT_TYPE, {bob.user_id: {"*": {"text": "everyone"}}})

    for device in (bob, phone):
        device.sync_until(to_device_has(alice, EVENT_TYPE, saying("everyone")))


def test_a_retried_transaction_is_delivered_once(hs):
    """Sending again with the same transaction ID does not deliver a second message.

    Spec: client-server-api/#transaction-identifiers — a request repeated with the same
    transaction ID is treated as a retry, not a new request. The retry carries other
    content, which must never arrive; a later message with a new ID shows the inbox was
    read past both.
    """
    alice, bob = hs.register(), hs.register()
    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "once"}}},
                   txn_id="repeat")
    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "retry"}}},
                   txn_id="repeat")
    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "after"}}})
    received: list[str] = []

    def collect(body: dict) -> str | None:
        received.extend(e["content"].get("text") for e in to_device_events(body, EVENT_TYPE))
        return None if "after" in received else f"received so far: {received}"

    bob.sync_until(Check("the message after the retry", collect))
    assert received.count("once") == 1 and "retry" not in received, received


def test_a_large_queue_is_delivered_whole_and_once_over_consecutive_syncs(hs):
    """150 messages waiting for one device all arrive, each exactly once, over the
    syncs that follow, whether or not the server splits them between answers.

    Spec: client-server-api/#send-to-device-messaging (server behaviour) — pending
    messages are kept until delivered; the server may limit how many one /sync lists
    (100 is the recommended limit) and lists the rest in later syncs; a message is
    deleted once the client syncs with the `next_batch` of the answer that listed it,
    so it does not come back. A marker sent after them shows the inbox read past all.
    """
    alice, bob = hs.register(), hs.register()
    sent = [f"m{n}" for n in range(150)]
    for text in sent:
        send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": text}}})
    received: list[str] = []

    def collect_until(last: str) -> Check:
        def test(body: dict) -> str | None:
            received.extend(e["content"].get("text")
                            for e in to_device_events(body, EVENT_TYPE))
            return None if last in received else f"{len(received)} received so far"
        return Check(f"the to-device message {last!r}", test)

    bob.sync_until(collect_until(sent[-1]))
    send_to_device(alice, EVENT_TYPE, {bob.user_id: {bob.device_id: {"text": "marker"}}})
    bob.sync_until(collect_until("marker"))

    repeated = sorted({t for t in received if received.count(t) > 1})
    missing = [t for t in sent if t not in received]
    assert not repeated and not missing, (
        f"over consecutive syncs, messages came more than once: {repeated}; "
        f"never came: {missing}")


def test_sending_without_messages_is_refused(hs):
    """A body without `messages` is refused.

    Spec: client-server-api/#put_matrixclientv3sendtodeviceeventtypetxnid — `messages` is
    required. The spec names no errcode for a missing field, so only the status is checked.
    """
    alice = hs.register()
    expect_error(alice.do("PUT", ["sendToDevice", EVENT_TYPE, "t1"], json={}), 400)
