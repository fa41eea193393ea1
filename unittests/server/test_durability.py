# SPDX-License-Identifier: Apache-2.0
"""Every write the server acknowledged survives kill -9 and a restart, on each engine."""
from __future__ import annotations

import httpx

from .conftest import start_server, stop_server


def _register(url: str, name: str) -> dict:
    body = {"username": name, "password": "pw-durable-1", "auth": {"type": "m.login.dummy"}}
    first = httpx.post(f"{url}/_matrix/client/v3/register", json={"username": name,
                                                                 "password": "pw-durable-1"})
    body["auth"]["session"] = first.json()["session"]
    answer = httpx.post(f"{url}/_matrix/client/v3/register", json=body)
    answer.raise_for_status()
    return answer.json()


def test_acknowledged_writes_survive_kill_9(tmp_path, database_target) -> None:
    server = start_server(tmp_path, "--database", database_target)
    try:
        session = _register(server.url, "durable")
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        room = httpx.post(f"{server.url}/_matrix/client/v3/createRoom", json={},
                          headers=headers).json()["room_id"]
        sent = httpx.put(f"{server.url}/_matrix/client/v3/rooms/{room}/send/m.room.message/t1",
                         json={"msgtype": "m.text", "body": "keep me"}, headers=headers)
        sent.raise_for_status()
    finally:
        stop_server(server, crash=True)

    restarted = start_server(tmp_path, "--database", database_target)
    try:
        event = httpx.get(
            f"{restarted.url}/_matrix/client/v3/rooms/{room}/event/{sent.json()['event_id']}",
            headers=headers)
        assert event.status_code == 200, event.text
        assert event.json()["content"]["body"] == "keep me"
        again = httpx.put(f"{restarted.url}/_matrix/client/v3/rooms/{room}/send/m.room.message/t1",
                          json={"msgtype": "m.text", "body": "keep me"}, headers=headers)
        assert again.json()["event_id"] == sent.json()["event_id"], "txn IDs must stay idempotent"
        synced = httpx.get(f"{restarted.url}/_matrix/client/v3/sync", headers=headers)
        timeline = synced.json()["rooms"]["join"][room]["timeline"]["events"]
        assert sent.json()["event_id"] in [e["event_id"] for e in timeline]
    finally:
        stop_server(restarted)
