# SPDX-License-Identifier: Apache-2.0
"""A PDU whose checks need an event we lack: fetch it from the origin, then check again."""
from __future__ import annotations

import trio

from reference_server.federation.pdu_checks import PduRejected
from reference_server.services.remote_events import MissingEvent, RemoteEvents


class _Stub(RemoteEvents):
    """Fails with MissingEvent until the missing event has been fetched."""

    def __init__(self, fetchable: bool) -> None:
        self.fetched: list[str] = []
        self._fetchable = fetchable

    async def receive(self, room_id, pdu):
        if "$needed" not in self.fetched:
            raise MissingEvent("$needed", "unknown auth event $needed")
        return "stored"

    async def _fetch_outlier(self, origin, room_id, event_id):
        if not self._fetchable:
            return False
        self.fetched.append(event_id)
        return True


def test_missing_event_is_fetched_and_the_check_retried() -> None:
    remote = _Stub(fetchable=True)
    assert trio.run(remote.receive_from, "origin.example", "!r", {}) == "stored"
    assert remote.fetched == ["$needed"]


def test_unfetchable_event_rejects_the_pdu() -> None:
    remote = _Stub(fetchable=False)
    try:
        trio.run(remote.receive_from, "origin.example", "!r", {})
    except PduRejected as error:
        assert "$needed" in str(error)
    else:
        raise AssertionError("a PDU whose auth event cannot be had must be rejected")
