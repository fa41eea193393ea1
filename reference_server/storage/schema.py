# SPDX-License-Identifier: Apache-2.0
"""Schema migrations, in order. Never edit a released step; append a new one.

A step is SQL both engines run (PostgreSQL gets its column types translated, see
engines.py), or a mapping of engine name to SQL where they cannot share it.
"""
from __future__ import annotations

MIGRATIONS: list[str | dict[str, str]] = [
    # 1: accounts, rooms, events, state, ephemeral data
    """
    CREATE TABLE stream_position (position INTEGER NOT NULL);
    INSERT INTO stream_position VALUES (0);

    CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        password_hash TEXT,
        is_guest INTEGER NOT NULL DEFAULT 0,
        deactivated INTEGER NOT NULL DEFAULT 0,
        appservice_id TEXT,
        created_ts INTEGER NOT NULL
    );
    CREATE TABLE profiles (
        user_id TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (user_id, field)
    );
    CREATE TABLE devices (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        display_name TEXT,
        last_seen_ts INTEGER,
        last_seen_ip TEXT,
        PRIMARY KEY (user_id, device_id)
    );
    CREATE TABLE access_tokens (
        token TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        device_id TEXT,
        created_ts INTEGER NOT NULL
    );
    CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id);

    CREATE TABLE rooms (
        room_id TEXT PRIMARY KEY,
        room_version TEXT NOT NULL,
        creator TEXT,
        is_public INTEGER NOT NULL DEFAULT 0,
        created_ts INTEGER NOT NULL
    );
    CREATE TABLE room_aliases (
        alias TEXT PRIMARY KEY,
        room_id TEXT NOT NULL,
        creator TEXT NOT NULL
    );
    CREATE INDEX room_aliases_room ON room_aliases (room_id);

    CREATE TABLE events (
        stream_ordering INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state_key TEXT,
        sender TEXT NOT NULL,
        depth INTEGER NOT NULL,
        origin_server_ts INTEGER NOT NULL,
        state_group INTEGER,
        json TEXT NOT NULL,
        redacted_by TEXT,
        txn_user TEXT,
        txn_device TEXT,
        txn_id TEXT
    );
    CREATE INDEX events_room ON events (room_id, stream_ordering);
    CREATE UNIQUE INDEX events_txn ON events (txn_user, txn_device, txn_id);

    CREATE TABLE forward_extremities (
        room_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (room_id, event_id)
    );

    CREATE TABLE state_groups (
        id INTEGER PRIMARY KEY,
        room_id TEXT NOT NULL,
        prev_group INTEGER,
        delta TEXT NOT NULL
    );

    CREATE TABLE current_state (
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        state_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
    );

    CREATE TABLE memberships (
        room_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        membership TEXT NOT NULL,
        event_id TEXT NOT NULL,
        stream_ordering INTEGER NOT NULL,
        forgotten INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (room_id, user_id)
    );
    CREATE INDEX memberships_user ON memberships (user_id, membership);

    CREATE TABLE account_data (
        user_id TEXT NOT NULL,
        room_id TEXT NOT NULL,
        type TEXT NOT NULL,
        content TEXT NOT NULL,
        stream_id INTEGER NOT NULL,
        PRIMARY KEY (user_id, room_id, type)
    );
    CREATE TABLE filters (
        user_id TEXT NOT NULL,
        filter_id INTEGER NOT NULL,
        definition TEXT NOT NULL,
        PRIMARY KEY (user_id, filter_id)
    );
    CREATE TABLE receipts (
        room_id TEXT NOT NULL,
        receipt_type TEXT NOT NULL,
        user_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        stream_id INTEGER NOT NULL,
        PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
    );
    CREATE INDEX receipts_stream ON receipts (room_id, stream_id);
    CREATE TABLE room_directory_changes (
        room_id TEXT PRIMARY KEY,
        stream_id INTEGER NOT NULL
    )
    """,
    # 2: transaction IDs are scoped to a device *and* an endpoint path
    # (client-server-api/#transaction-identifiers), so the path joins the key.
    """
    ALTER TABLE events ADD COLUMN txn_path TEXT;
    DROP INDEX events_txn;
    CREATE UNIQUE INDEX events_txn ON events (txn_user, txn_device, txn_path, txn_id)
    """,
    # 3: the federation outbox: PDUs and EDUs waiting to be sent, per destination
    """
    CREATE TABLE federation_outbox (
        id INTEGER PRIMARY KEY,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX federation_outbox_destination ON federation_outbox (destination, id)
    """,
    # 4: outliers — events known only as state or auth events of a remote join, with no
    # place in our timeline
    """
    ALTER TABLE events ADD COLUMN outlier INTEGER NOT NULL DEFAULT 0
    """,
    # 5: the application service outbox: events and ephemeral data waiting to be pushed
    """
    CREATE TABLE appservice_outbox (
        id INTEGER PRIMARY KEY,
        service_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX appservice_outbox_service ON appservice_outbox (service_id, id)
    """,
    # 6: rooms application services publish in their networks' directories
    """
    CREATE TABLE appservice_room_list (
        service_id TEXT NOT NULL,
        network_id TEXT NOT NULL,
        room_id TEXT NOT NULL,
        PRIMARY KEY (service_id, network_id, room_id)
    )
    """,
    # 7: presence, on the same stream as everything /sync reports
    """
    CREATE TABLE presence (
        user_id TEXT PRIMARY KEY,
        presence TEXT NOT NULL,
        status_msg TEXT,
        last_active_ts INTEGER NOT NULL,
        stream_id INTEGER NOT NULL
    )
    """,
    # 8: OpenID tokens (client-server, OpenID): good only for GET /openid/userinfo
    """
    CREATE TABLE openid_tokens (
        token TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        expires_ts INTEGER NOT NULL
    )
    """,
    # 9: soft-failed events (server-server-api/#soft-failure): in the room's DAG and its
    # state resolution, but never shown to clients nor used as prev_events
    """
    ALTER TABLE events ADD COLUMN soft_failed INTEGER NOT NULL DEFAULT 0
    """,
    # 10: answers to the transactions other servers pushed, so a retried txnId is answered
    # the same without processing it again, also after a restart
    """
    CREATE TABLE inbound_transactions (
        origin TEXT NOT NULL,
        txn_id TEXT NOT NULL,
        response TEXT NOT NULL,
        received_ts INTEGER NOT NULL,
        PRIMARY KEY (origin, txn_id)
    );
    CREATE INDEX inbound_transactions_age ON inbound_transactions (received_ts)
    """,
    # 11: end-to-end encryption: device, one-time, fallback and cross-signing keys, signatures,
    # the device-list change stream (local and remote users; `update_id` is the latest
    # m.device_list_update of a local user), remote device lists cached
    # from their servers, and the to-device inbox of each device
    """
    CREATE TABLE e2e_device_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id)
    );
    CREATE TABLE e2e_one_time_keys (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        key_id TEXT NOT NULL,
        json TEXT NOT NULL,
        UNIQUE (user_id, device_id, algorithm, key_id)
    );
    CREATE TABLE e2e_fallback_keys (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        key_id TEXT NOT NULL,
        json TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, device_id, algorithm)
    );
    CREATE TABLE e2e_cross_signing_keys (
        user_id TEXT NOT NULL,
        usage TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (user_id, usage)
    );
    CREATE TABLE e2e_signatures (
        target_user TEXT NOT NULL,
        target_key_id TEXT NOT NULL,
        signer_user TEXT NOT NULL,
        signer_key_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (target_user, target_key_id, signer_user, signer_key_id)
    );
    CREATE TABLE device_list_changes (
        user_id TEXT PRIMARY KEY,
        stream_id INTEGER NOT NULL,
        update_id INTEGER
    );
    CREATE INDEX device_list_changes_stream ON device_list_changes (stream_id);
    CREATE TABLE remote_device_lists (
        user_id TEXT PRIMARY KEY,
        stream_id INTEGER NOT NULL,
        json TEXT NOT NULL
    );
    CREATE TABLE to_device_inbox (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        stream_id INTEGER NOT NULL,
        json TEXT NOT NULL
    );
    CREATE INDEX to_device_inbox_device ON to_device_inbox (user_id, device_id, stream_id);
    CREATE TABLE to_device_txns (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        txn_key TEXT NOT NULL,
        PRIMARY KEY (user_id, device_id, txn_key)
    );
    CREATE TABLE to_device_received (
        origin TEXT NOT NULL,
        message_id TEXT NOT NULL,
        PRIMARY KEY (origin, message_id)
    )
    """,
    # 12: the DAG's edges, each event's prev_events, so an event is known to be a forward
    # extremity only while no timeline event we hold builds on it — also when its
    # children arrived first.
    """
    CREATE TABLE event_edges (
        event_id TEXT NOT NULL,
        prev_event_id TEXT NOT NULL,
        PRIMARY KEY (event_id, prev_event_id)
    );
    CREATE INDEX event_edges_prev ON event_edges (prev_event_id)
    """,
    # 13: the edges of the events stored before 12 (prev_events are [id, hashes] pairs up
    # to room version 2, plain IDs after), in each engine's JSON functions
    {
        "sqlite": """
    INSERT OR IGNORE INTO event_edges (event_id, prev_event_id)
        SELECT event_id, prev_event_id FROM (
            SELECT events.event_id AS event_id,
                   CASE prev.type WHEN 'array' THEN json_extract(prev.value, '$[0]')
                        ELSE prev.value END AS prev_event_id
            FROM events, json_each(events.json, '$.prev_events') AS prev
        ) WHERE typeof(prev_event_id) = 'text'
    """,
        "postgresql": """
    INSERT INTO event_edges (event_id, prev_event_id)
        SELECT DISTINCT event_id, prev_event_id FROM (
            SELECT events.event_id AS event_id,
                   CASE jsonb_typeof(prev.value) WHEN 'array' THEN prev.value ->> 0
                        ELSE prev.value #>> '{}' END AS prev_event_id
            FROM events, jsonb_array_elements(
                CASE jsonb_typeof(events.json::jsonb -> 'prev_events')
                     WHEN 'array' THEN events.json::jsonb -> 'prev_events'
                     ELSE '[]'::jsonb END) AS prev
        ) AS edges WHERE prev_event_id IS NOT NULL
        ON CONFLICT DO NOTHING
    """,
    },
    # 14: the content repository: one row per media, local uploads and cached remote
    # media alike; the bytes are files under the data dir, named by `file_name`; and the
    # media IDs created for a later upload, until it arrives
    """
    CREATE TABLE media (
        server_name TEXT NOT NULL,
        media_id TEXT NOT NULL,
        content_type TEXT NOT NULL,
        upload_name TEXT,
        size INTEGER NOT NULL,
        file_name TEXT NOT NULL,
        uploader TEXT,
        created_ts INTEGER NOT NULL,
        PRIMARY KEY (server_name, media_id)
    );
    CREATE TABLE media_pending (
        media_id TEXT PRIMARY KEY,
        creator TEXT NOT NULL,
        expires_ts INTEGER NOT NULL
    );
    CREATE INDEX media_pending_creator ON media_pending (creator)
    """,
    # 15: server-side key backups: each user's backup versions (numbered per user, never
    # reused: a deleted one keeps its row, marked), with an etag bumped whenever the keys
    # change; and the keys, one row per (backup, room, session)
    """
    CREATE TABLE key_backup_versions (
        user_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        algorithm TEXT NOT NULL,
        auth_data TEXT NOT NULL,
        etag INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        PRIMARY KEY (user_id, version)
    );
    CREATE TABLE key_backup_keys (
        user_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        room_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        first_message_index INTEGER NOT NULL,
        forwarded_count INTEGER NOT NULL,
        is_verified INTEGER NOT NULL,
        session_data TEXT NOT NULL,
        PRIMARY KEY (user_id, version, room_id, session_id)
    )
    """,
    # 16: content reports (events, rooms, users) for the server's administrators to read
    """
    CREATE TABLE content_reports (
        report_id INTEGER PRIMARY KEY,
        reporter TEXT NOT NULL,
        room_id TEXT,
        event_id TEXT,
        user_id TEXT,
        reason TEXT,
        score INTEGER,
        received_ts INTEGER NOT NULL
    )
    """,
]
