# SPDX-License-Identifier: Apache-2.0
"""The content repository's files and their metadata.

Bytes live in files under `<data-dir>/media/`; a row in `media` says which file holds
which `mxc://` URI. A file is written durably (temporary file, fsync, rename) before its
row is committed, so a row never names a missing or partial file.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .database import Database


@dataclass(frozen=True)
class MediaRecord:
    server_name: str
    media_id: str
    content_type: str
    upload_name: str | None
    size: int
    file_name: str


class MediaFiles:
    """The media directory: write-once files with random names."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)

    def write(self, data: bytes, name: str | None = None) -> str:
        """Stores `data` durably and returns the file's name."""
        name = name or secrets.token_urlsafe(24)
        final = self._dir / name
        temporary = self._dir / f".{name}.{secrets.token_hex(4)}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        directory = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
        return name

    def read(self, name: str) -> bytes | None:
        try:
            return (self._dir / name).read_bytes()
        except FileNotFoundError:
            return None


class MediaStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, record: MediaRecord, *, uploader: str | None, now_ms: int) -> bool:
        """Records the media; False if that URI already had a row (which is kept)."""
        cursor = self._db.execute(
            "INSERT INTO media (server_name, media_id, content_type, upload_name, size,"
            " file_name, uploader, created_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (server_name, media_id) DO NOTHING",
            (record.server_name, record.media_id, record.content_type, record.upload_name,
             record.size, record.file_name, uploader, now_ms))
        return cursor.rowcount == 1

    def get(self, server_name: str, media_id: str) -> MediaRecord | None:
        row = self._db.one(
            "SELECT server_name, media_id, content_type, upload_name, size, file_name"
            " FROM media WHERE server_name = ? AND media_id = ?", (server_name, media_id))
        if row is None:
            return None
        return MediaRecord(row[0], row[1], row[2], row[3], row[4], row[5])


class PendingMediaStore:
    """Media IDs reserved with `POST /create` whose content has not arrived yet."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, media_id: str, creator: str, *, expires_ts: int) -> None:
        self._db.execute("INSERT INTO media_pending (media_id, creator, expires_ts)"
                         " VALUES (?, ?, ?)", (media_id, creator, expires_ts))

    def creator(self, media_id: str, *, now_ms: int) -> str | None:
        """Who reserved the media ID, while the reservation is unexpired."""
        return self._db.scalar("SELECT creator FROM media_pending WHERE media_id = ?"
                               " AND expires_ts > ?", (media_id, now_ms))

    def count_for(self, creator: str, *, now_ms: int) -> int:
        return self._db.scalar("SELECT COUNT(*) FROM media_pending WHERE creator = ?"
                               " AND expires_ts > ?", (creator, now_ms))

    def remove(self, media_id: str) -> None:
        self._db.execute("DELETE FROM media_pending WHERE media_id = ?", (media_id,))
