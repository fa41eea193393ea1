# SPDX-License-Identifier: Apache-2.0
"""A real client library (matrix-nio) uses the reference server as a new user would."""
from __future__ import annotations

import asyncio
import uuid

import nio


def test_nio_client_round_trip(server) -> None:
    """Register, create a room, invite, join, message, sync, paginate, profile, alias, typing."""
    asyncio.run(_round_trip(server.url))


async def _round_trip(url: str) -> None:
    alice = nio.AsyncClient(url, "")
    bob = nio.AsyncClient(url, "")
    suffix = uuid.uuid4().hex[:8]
    try:
        reg = await alice.register(f"alice{suffix}", "correct horse battery")
        assert isinstance(reg, nio.RegisterResponse), reg
        reg = await bob.register(f"bob{suffix}", "correct horse battery")
        assert isinstance(reg, nio.RegisterResponse), reg
        await bob.logout()
        bob.user = bob.user_id  # nio logs in as `user`, which registration does not set
        login = await bob.login("correct horse battery", device_name="nio test")
        assert isinstance(login, nio.LoginResponse), login

        assert isinstance(await alice.set_displayname("Alice"), nio.ProfileSetDisplayNameResponse)
        room = await alice.room_create(name="nio room", alias=f"nio{suffix}")
        assert isinstance(room, nio.RoomCreateResponse), room
        assert isinstance(await alice.room_invite(room.room_id, bob.user_id), nio.RoomInviteResponse)
        await bob.sync(timeout=0)
        assert room.room_id in bob.invited_rooms
        joined = await bob.join(f"#nio{suffix}:localhost")
        assert isinstance(joined, nio.JoinResponse), joined

        sent = await alice.room_send(room.room_id, "m.room.message",
                                     {"msgtype": "m.text", "body": "hello bob"})
        assert isinstance(sent, nio.RoomSendResponse), sent
        await bob.sync(timeout=0, full_state=True)
        bodies = [getattr(e, "body", None) for e in bob.rooms[room.room_id].timeline.events] \
            if hasattr(bob.rooms[room.room_id], "timeline") else None
        messages = await bob.room_messages(room.room_id, start="", limit=20)
        assert isinstance(messages, nio.RoomMessagesResponse), messages
        assert "hello bob" in [getattr(e, "body", None) for e in messages.chunk], bodies

        assert isinstance(await bob.room_typing(room.room_id, True), nio.RoomTypingResponse)
        assert isinstance(await bob.room_read_markers(room.room_id, sent.event_id, sent.event_id),
                          nio.RoomReadMarkersResponse)
        await alice.sync(timeout=0, full_state=True)
        assert alice.rooms[room.room_id].user_name(bob.user_id) is not None
        profile = await bob.get_profile(alice.user_id)
        assert isinstance(profile, nio.ProfileGetResponse) and profile.displayname == "Alice"

        public = await alice.room_create(name=f"lobby {suffix}",
                                         visibility=nio.RoomVisibility.public)
        assert isinstance(public, nio.RoomCreateResponse), public
        listing = await bob.room_get_visibility(public.room_id) \
            if hasattr(bob, "room_get_visibility") else None
        rooms = await bob.send("GET", "/_matrix/client/v3/publicRooms")
        chunk = (await rooms.json())["chunk"]
        assert public.room_id in [r["room_id"] for r in chunk], (listing, chunk)
    finally:
        await alice.close()
        await bob.close()
