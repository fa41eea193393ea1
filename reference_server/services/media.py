# SPDX-License-Identifier: Apache-2.0
"""The content repository: uploads, downloads, and fetching other servers' media.

Local media is stored under a random URL-safe ID; media named by another server's
`mxc://` URI is fetched from that server over federation (a signed GET answered in
`multipart/mixed`) and cached like a local file.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote

import trio

from .. import errors
from ..federation.client import FederationClient, FederationError
from ..protocol import multipart
from ..storage.media import MediaFiles, MediaRecord, MediaStore, PendingMediaStore
from .thumbnails import CannotThumbnail, TooLarge, make_thumbnail

DEFAULT_TYPE = "application/octet-stream"
REMOTE_TIMEOUT_S = 20.0
UNUSED_LIFETIME_MS = 24 * 60 * 60 * 1000  # how long a created media ID waits for content
MAX_PENDING_PER_USER = 50
MAX_WAIT_MS = 60_000  # the cap on a download's `timeout_ms`


@dataclass(frozen=True)
class Media:
    content_type: str
    upload_name: str | None
    data: bytes


class MediaRepository:
    def __init__(self, *, store: MediaStore, pending: PendingMediaStore, files: MediaFiles,
                 server_name: str, max_upload_bytes: int, federation: FederationClient,
                 clock: Callable[[], int]) -> None:
        self._store = store
        self._pending = pending
        self._arrived: dict[str, trio.Event] = {}  # media ID → set when its content lands
        self._files = files
        self.server_name = server_name
        self.max_upload_bytes = max_upload_bytes
        self._federation = federation
        self._clock = clock

    def upload(self, uploader: str, data: bytes, content_type: str | None,
               upload_name: str | None) -> str:
        """Stores an upload; its `mxc://` URI."""
        self._check_size(data)
        media_id = secrets.token_urlsafe(18)
        self._save(self.server_name, media_id, data, content_type, upload_name, uploader)
        return f"mxc://{self.server_name}/{media_id}"

    def create(self, creator: str) -> dict:
        """Reserves a media ID for a later upload by `creator`."""
        now = self._clock()
        if self._pending.count_for(creator, now_ms=now) >= MAX_PENDING_PER_USER:
            raise errors.limit_exceeded(60_000)
        media_id = secrets.token_urlsafe(18)
        expires = now + UNUSED_LIFETIME_MS
        self._pending.add(media_id, creator, expires_ts=expires)
        return {"content_uri": f"mxc://{self.server_name}/{media_id}",
                "unused_expires_at": expires}

    def upload_to(self, uploader: str, server_name: str, media_id: str, data: bytes,
                  content_type: str | None, upload_name: str | None) -> None:
        """Stores the content of a media ID reserved with `create`."""
        if server_name == self.server_name and self._store.get(server_name, media_id):
            raise errors.MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA",
                                     "This media already has content.")
        creator = (self._pending.creator(media_id, now_ms=self._clock())
                   if server_name == self.server_name else None)
        if creator is None:
            raise errors.not_found("Unknown or expired media ID.")
        if creator != uploader:
            raise errors.forbidden("Another user created this media ID.")
        self._check_size(data)
        self._save(server_name, media_id, data, content_type, upload_name, uploader)
        self._pending.remove(media_id)
        arrived = self._arrived.pop(media_id, None)
        if arrived is not None:
            arrived.set()

    async def local(self, media_id: str, timeout_ms: int = 0) -> Media:
        """Media uploaded here; 404 M_NOT_FOUND when there is none, 504 M_NOT_YET_UPLOADED
        when it was created but its content did not arrive within `timeout_ms`."""
        media = self._cached(self.server_name, media_id)
        if media is not None:
            return media
        if self._pending.creator(media_id, now_ms=self._clock()) is None:
            raise errors.not_found("Unknown media.")
        arrived = self._arrived.setdefault(media_id, trio.Event())
        with trio.move_on_after(min(max(timeout_ms, 0), MAX_WAIT_MS) / 1000):
            await arrived.wait()
        media = self._cached(self.server_name, media_id)
        if media is None:
            raise errors.MatrixError(504, "M_NOT_YET_UPLOADED",
                                     "The media has not been uploaded yet.")
        return media

    async def download(self, server_name: str, media_id: str, timeout_ms: int = 0) -> Media:
        """Any media: local, cached, or fetched now from its server."""
        if server_name == self.server_name:
            return await self.local(media_id, timeout_ms)
        media = self._cached(server_name, media_id)
        if media is None:
            media = await self._fetch(server_name, media_id)
            try:
                self._save(server_name, media_id, media.data, media.content_type,
                           media.upload_name, None)
            except errors.MatrixError:
                pass  # a concurrent download cached it first: same media
        return media

    async def thumbnail(self, server_name: str, media_id: str, width: int, height: int,
                        method: str, timeout_ms: int = 0) -> Media:
        """A thumbnail of an image, or the image itself when it is no larger than asked."""
        if width < 1 or height < 1:
            raise errors.invalid_param("Thumbnail sizes must be positive.")
        media = await self.download(server_name, media_id, timeout_ms)
        try:
            thumb = await trio.to_thread.run_sync(make_thumbnail, media.data, width, height,
                                                  method)
        except CannotThumbnail:
            raise errors.unknown("Cannot make thumbnails of this media.") from None
        except TooLarge:
            local = server_name == self.server_name
            raise errors.MatrixError(413 if local else 502, "M_TOO_LARGE",
                                     "The image is too large to make a thumbnail of.") from None
        if thumb is None:
            return media
        return Media(thumb.content_type, None, thumb.data)

    def _check_size(self, data: bytes) -> None:
        if len(data) > self.max_upload_bytes:
            raise errors.too_large(f"The file is larger than {self.max_upload_bytes} bytes.")

    def _cached(self, server_name: str, media_id: str) -> Media | None:
        record = self._store.get(server_name, media_id)
        if record is None:
            return None
        data = self._files.read(record.file_name)
        if data is None:
            return None
        return Media(record.content_type, record.upload_name, data)

    def _save(self, server_name: str, media_id: str, data: bytes, content_type: str | None,
              upload_name: str | None, uploader: str | None) -> None:
        """Stores the bytes, then the row; 409 if the URI got content meanwhile."""
        # Durable before the row names it; local media under its own ID.
        file_name = self._files.write(data, media_id if server_name == self.server_name
                                      else None)
        record = MediaRecord(server_name, media_id, content_type or DEFAULT_TYPE, upload_name,
                             len(data), file_name)
        if not self._store.add(record, uploader=uploader, now_ms=self._clock()):
            raise errors.MatrixError(409, "M_CANNOT_OVERWRITE_MEDIA",
                                     "This media already has content.")

    async def _fetch(self, server_name: str, media_id: str) -> Media:
        """Media from its server: the federation download, or, from a server that does
        not know that endpoint (404 M_UNRECOGNIZED), the deprecated client download with
        `allow_remote=false`, as the spec requires."""
        timeout_ms = int(REMOTE_TIMEOUT_S * 1000)
        path = f"/_matrix/federation/v1/media/download/{quote(media_id, safe='')}"
        try:
            headers, body = await self._federation.request_bytes(
                "GET", server_name, path, query={"timeout_ms": timeout_ms},
                timeout=REMOTE_TIMEOUT_S + 5)
        except FederationError as error:
            if not _unrecognized(error):
                raise _remote_error(server_name, error) from None
            return await self._fetch_legacy(server_name, media_id)
        self._check_remote_size(body)
        try:
            part = _media_part(multipart.decode(headers.get("content-type", ""), body))
        except ValueError as problem:
            raise errors.MatrixError(502, "M_UNKNOWN",
                                     f"{server_name} sent unreadable media: {problem}") from None
        if "location" in part.headers:
            return await self._follow(server_name, part.headers["location"])
        return _media_of(part.headers, part.body)

    async def _follow(self, server_name: str, location: str) -> Media:
        """The bytes are elsewhere: fetch them (once; such URLs may expire)."""
        try:
            headers, body = await self._federation.fetch_url(location,
                                                             timeout=REMOTE_TIMEOUT_S + 5)
        except FederationError as error:
            raise _remote_error(server_name, error) from None
        self._check_remote_size(body)
        return _media_of(headers, body)

    async def _fetch_legacy(self, server_name: str, media_id: str) -> Media:
        path = (f"/_matrix/media/v3/download/{quote(server_name, safe='')}/"
                f"{quote(media_id, safe='')}")
        try:
            headers, body = await self._federation.request_bytes(
                "GET", server_name, path, signed=False, timeout=REMOTE_TIMEOUT_S + 5,
                query={"allow_remote": "false", "timeout_ms": int(REMOTE_TIMEOUT_S * 1000)})
        except FederationError as error:
            raise _remote_error(server_name, error) from None
        self._check_remote_size(body)
        return _media_of(headers, body)

    def _check_remote_size(self, body: bytes) -> None:
        if len(body) > self.max_upload_bytes:
            raise errors.MatrixError(502, "M_TOO_LARGE", "The remote media is too large.")


def _unrecognized(error: FederationError) -> bool:
    """The server does not know the endpoint (404 M_UNRECOGNIZED per the spec; older
    servers said so with 400 or 405)."""
    return error.status in (400, 404, 405) and isinstance(error.body, dict) \
        and error.body.get("errcode") == "M_UNRECOGNIZED"


def _remote_error(server_name: str, error: FederationError) -> errors.MatrixError:
    code = error.body.get("errcode") if isinstance(error.body, dict) else None
    if error.status == 404:
        return errors.not_found(f"{server_name} has no such media.")
    if error.status == 504 and code == "M_NOT_YET_UPLOADED":
        return errors.MatrixError(504, code, "The media has not been uploaded yet.")
    return errors.MatrixError(502, "M_UNKNOWN", f"Could not fetch the media: {error}")


def _media_part(parts: list[multipart.Part]) -> multipart.Part:
    """The media part of a federation download answer: metadata JSON, then the media."""
    if len(parts) != 2:
        raise ValueError(f"{len(parts)} parts, not 2")
    if not isinstance(json.loads(parts[0].body or b"{}"), dict):
        raise ValueError("the metadata part is not a JSON object")
    return parts[1]


def _media_of(headers: Mapping[str, str], body: bytes) -> Media:
    return Media(headers.get("content-type") or DEFAULT_TYPE,
                 _disposition_name(headers.get("content-disposition", "")), body)


def _disposition_name(header: str) -> str | None:
    message = Message()
    message["content-disposition"] = header
    name = message.get_filename()
    return name or None


# The types the spec lists as safe to serve with `Content-Disposition: inline`.
INLINE_TYPES = frozenset({
    "text/css", "text/plain", "text/csv", "application/json", "application/ld+json",
    "image/jpeg", "image/gif", "image/png", "image/apng", "image/webp", "image/avif",
    "video/mp4", "video/webm", "video/ogg", "video/quicktime", "audio/mp4", "audio/webm",
    "audio/aac", "audio/mpeg", "audio/ogg", "audio/wave", "audio/wav", "audio/x-wav",
    "audio/x-pn-wav", "audio/flac", "audio/x-flac",
})
# The policy the spec recommends for served media, so a browser runs nothing in it.
CONTENT_SECURITY_POLICY = ("sandbox; default-src 'none'; script-src 'none'; plugin-types "
                           "application/pdf; style-src 'unsafe-inline'; object-src 'self';")


def disposition(content_type: str, file_name: str | None) -> str:
    """`inline` for the safe types, `attachment` otherwise, with the file name if any."""
    kind = content_type.split(";", 1)[0].strip().lower()
    value = "inline" if kind in INLINE_TYPES else "attachment"
    if not file_name:
        return value
    if file_name.isascii() and file_name.isprintable():
        escaped = file_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'{value}; filename="{escaped}"'
    return f"{value}; filename*=utf-8''{quote(file_name, safe='')}"


def download_headers(media: Media, file_name: str | None) -> dict[str, str]:
    """The headers of a media answer to a client."""
    return {
        "Content-Type": media.content_type,
        "Content-Disposition": disposition(media.content_type, file_name),
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
