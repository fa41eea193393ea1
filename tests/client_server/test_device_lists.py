# SPDX-License-Identifier: Apache-2.0
"""Tracking other users' device lists: `device_lists` in /sync and /keys/changes.

Every room here has encryption enabled, since the spec words these lists in terms of
users sharing an encrypted room.

Spec: client-server-api/#tracking-the-device-list-for-a-user, #e2e-extensions-to-sync,
#get_matrixclientv3keyschanges.
"""
from __future__ import annotations

from tests.harness.checks import Check, expect_ok, joined_to, without
from tests.harness.e2ee import DeviceKeys, create_encrypted_room, device_list_changed, \
    device_list_left, upload_keys


ANY_ANSWER = Check("any /sync answer", lambda body: None)


def room_mates(hs):
    """Alice and Bob in an encrypted room, Alice's sync position after Bob's join."""
    alice, bob = hs.register(), hs.register()
    room = create_encrypted_room(alice)
    bob.join(room)
    alice.sync_until(joined_to(room))
    return alice, bob, room


def test_a_room_mates_new_device_keys_show_in_device_lists_changed(hs):
    """When a room-mate uploads keys for a new device, the user's sync lists them.

    Spec: client-server-api/#e2e-extensions-to-sync — `device_lists.changed` lists users
    who updated their device identity keys since the previous sync.
    """
    alice, bob, _ = room_mates(hs)
    phone = bob.new_device()
    alice.sync_until(ANY_ANSWER)  # whatever logging in alone may have reported

    upload_keys(phone, device_keys=DeviceKeys.of(phone).device_keys())

    alice.sync_until(device_list_changed(bob))


def test_a_room_mate_deleting_a_device_shows_in_device_lists_changed(hs):
    """A room-mate deleting a device with keys is listed as changed.

    Spec: client-server-api/#get_matrixclientv3keyschanges — users who removed an existing
    device with identity keys count as changed; #e2e-extensions-to-sync.
    """
    alice, bob, _ = room_mates(hs)
    phone = bob.new_device()
    upload_keys(phone, device_keys=DeviceKeys.of(phone).device_keys())
    alice.sync_until(device_list_changed(bob))

    bob.delete_device(phone.device_id)

    alice.sync_until(device_list_changed(bob))


def test_changes_of_users_sharing_no_room_are_not_reported(hs):
    """A stranger's new keys are not reported; a room-mate's, uploaded after, are.

    Spec: client-server-api/#get_matrixclientv3keyschanges — only users who share a room
    with the caller are included; #e2e-extensions-to-sync.
    """
    alice, bob, _ = room_mates(hs)
    stranger = hs.register()

    upload_keys(stranger, device_keys=DeviceKeys.of(stranger).device_keys())
    upload_keys(bob, device_keys=DeviceKeys.of(bob).device_keys())

    alice.sync_until(without(device_list_changed(bob), device_list_changed(stranger)))


def test_a_user_newly_sharing_a_room_shows_in_device_lists_changed(hs):
    """Someone joining a room the user is in is listed as changed.

    Spec: client-server-api/#e2e-extensions-to-sync — `changed` also lists users who now
    share an encrypted room with the client; #tracking-the-device-list-for-a-user.
    """
    alice, carol = hs.register(), hs.register()
    upload_keys(carol, device_keys=DeviceKeys.of(carol).device_keys())
    room = create_encrypted_room(alice)
    alice.sync_until(joined_to(room))

    carol.join(room)

    alice.sync_until(device_list_changed(carol))


def test_a_user_no_longer_sharing_any_room_shows_in_device_lists_left(hs):
    """When the only shared room is left, the other user is listed in `left`.

    Spec: client-server-api/#e2e-extensions-to-sync — `device_lists.left` lists users
    with whom the client no longer shares any encrypted room.
    """
    alice, bob, room = room_mates(hs)

    bob.leave(room)

    alice.sync_until(device_list_left(bob))


def test_keys_changes_lists_a_room_mate_who_changed_keys_after_from(hs):
    """/keys/changes from an earlier sync token lists a room-mate who uploaded keys since.

    Spec: client-server-api/#get_matrixclientv3keyschanges — the result includes users who
    share a room with the caller and added new device identity keys between `from`
    and `to`.
    """
    alice, bob, _ = room_mates(hs)
    stranger = hs.register()
    since = alice.sync(timeout=0)["next_batch"]
    upload_keys(stranger, device_keys=DeviceKeys.of(stranger).device_keys())
    upload_keys(bob, device_keys=DeviceKeys.of(bob).device_keys())
    until = alice.sync(since=since, timeout=0)["next_batch"]

    answer = expect_ok(alice.do("GET", ["keys", "changes"], params={"from": since, "to": until}),
                       "get key changes")

    assert bob.user_id in answer.get("changed", []), answer
    assert stranger.user_id not in answer.get("changed", []), answer
