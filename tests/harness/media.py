# SPDX-License-Identifier: Apache-2.0
"""The content repository from the suite's side: uploads and downloads by a client, the
`multipart/mixed` answers of federation downloads, and a fake peer that hosts media.

Spec: client-server-api/#content-repository, server-server-api/#content-repository.
"""
from __future__ import annotations

import re
import secrets
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import httpx

from tests.harness.assertions import expect_ok
from tests.harness.federation_routes import FEDERATION_V1, Answer, RawAnswer, Request, \
    Route, target_fault

if TYPE_CHECKING:
    from tests.harness.client import Client
    from tests.harness.federation_server import FakeHomeserver

MEDIA_V1 = "/_matrix/media/v1"
MEDIA_V3 = "/_matrix/media/v3"
CLIENT_V1 = "/_matrix/client/v1"
_BOUNDARY = re.compile(r"""boundary=(?:"([^"]+)"|([^;\s]+))""", re.IGNORECASE)


# -- client side -------------------------------------------------------------------------

def upload(client: Client, data: bytes, content_type: str = "application/octet-stream",
           filename: str | None = None) -> str:
    """Uploads `data` (strict); the `mxc://` URI."""
    response = client.do("POST", ["upload"], prefix=MEDIA_V3, content=data,
                         headers={"Content-Type": content_type},
                         params={"filename": filename})
    return expect_ok(response, "upload a file")["content_uri"]


def parse_mxc(uri: str) -> tuple[str, str]:
    """`mxc://server/id` → (server, id); fails the test for anything else."""
    match = re.fullmatch(r"mxc://([^/]+)/([A-Za-z0-9_-]+)", uri)
    assert match, f"not an mxc:// URI with a valid media ID: {uri!r}"
    return match.group(1), match.group(2)


def download(client: Client, uri: str, file_name: str | None = None,
             auth: bool = True) -> httpx.Response:
    """GET the authenticated download of `uri` (optionally under `file_name`), raw."""
    server, media_id = parse_mxc(uri)
    path = ["media", "download", server, media_id] + ([file_name] if file_name else [])
    return client.do("GET", path, prefix=CLIENT_V1, auth=auth)


def disposition(response: httpx.Response) -> tuple[str, str | None]:
    """The `Content-Disposition` type (`inline`/`attachment`) and file name, if any."""
    header = response.headers.get("content-disposition", "")
    kind = header.split(";", 1)[0].strip().lower()
    star = re.search(r"filename\*\s*=\s*[^']*'[^']*'([^;]+)", header)
    if star:
        return kind, unquote(star.group(1).strip())
    plain = re.search(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', header)
    if plain:
        return kind, re.sub(r"\\(.)", r"\1", plain.group(1)) if plain.group(1) is not None \
            else plain.group(2)
    return kind, None


def thumbnail(client: Client, uri: str, width: int, height: int, method: str = "scale",
              **params: Any) -> httpx.Response:
    """GET the authenticated thumbnail of `uri`, raw."""
    server, media_id = parse_mxc(uri)
    return client.do("GET", ["media", "thumbnail", server, media_id], prefix=CLIENT_V1,
                     params={"width": width, "height": height, "method": method, **params})


# -- images, made and measured without an image library -------------------------------------

def png(width: int, height: int) -> bytes:
    """An RGB PNG of a diagonal gradient (not one colour, so scaling is real work)."""
    rows = b"".join(b"\0" + bytes((x + y) % 256 for x in range(width) for _ in range(3))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF, JPEG or (lossy/lossless) WebP image."""
    if data.startswith(b"\x89PNG"):
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    raise AssertionError(f"not an image format the suite can measure: {data[:12]!r}")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            raise AssertionError("malformed JPEG")
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                      0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("JPEG without a frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    kind = data[12:16]
    if kind == b"VP8X":
        return (int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1)
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    width, height = struct.unpack("<HH", data[26:30])
    return width & 0x3FFF, height & 0x3FFF


# -- multipart/mixed ---------------------------------------------------------------------

@dataclass
class Part:
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


def encode_multipart(parts: list[Part]) -> tuple[str, bytes]:
    """The Content-Type and body of a `multipart/mixed` message holding `parts`."""
    boundary = "b" + secrets.token_hex(12)
    out = b""
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        out += "".join(f"{k}: {v}\r\n" for k, v in part.headers.items()).encode("latin-1")
        out += b"\r\n" + part.body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", out


def decode_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a `multipart/*` body (RFC 2046); AssertionError when it is not one."""
    found = _BOUNDARY.search(content_type)
    assert content_type.lower().startswith("multipart/") and found, \
        f"not a multipart answer: Content-Type {content_type!r}"
    delimiter = b"\r\n--" + (found.group(1) or found.group(2)).encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    parts = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            return parts
        line_end = section.find(b"\r\n")
        section = section[line_end + 2:]  # after the delimiter line (transport padding)
        head, _, content = (b"", b"", section[2:]) if section.startswith(b"\r\n") \
            else section.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, content))
    raise AssertionError("the multipart body has no closing delimiter")


# -- a peer hosting media ------------------------------------------------------------------

@dataclass(frozen=True)
class PeerMedia:
    data: bytes
    content_type: str = "application/octet-stream"
    filename: str | None = None


REDIRECTED = "/_suite/media/{mediaId}"  # where a redirecting peer keeps the bytes


def handle_media(media: Mapping[str, PeerMedia], *, federation_endpoint: bool = True,
                 redirect: bool = False) -> tuple[Route, ...]:
    """Serves the peer's media by ID; unknown IDs answer 404 M_NOT_FOUND.

    With `federation_endpoint` (v1.11) over federation, as two-part `multipart/mixed`
    answers (metadata, then the bytes). Without, the peer is an older server: the
    federation endpoint answers 404 M_UNRECOGNIZED and the media is served by the
    deprecated unauthenticated client download, which the target MUST call with
    `allow_remote=false`. With `redirect`, the second part is a `Location` header
    naming an unsigned URL on the peer that serves the bytes.

    Spec: server-server-api/#content-repository,
    #get_matrixfederationv1mediadownloadmediaid.
    """
    def lookup(media_id: str) -> PeerMedia:
        found = media.get(media_id)
        if found is None:
            raise Answer(404, "M_NOT_FOUND", "no such media on this peer")
        return found

    def federation(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> Any:
        if not federation_endpoint:
            raise Answer(404, "M_UNRECOGNIZED", "this peer predates authenticated media")
        found = lookup(params["mediaId"])
        second = Part(_media_headers(found), found.data)
        if redirect:
            where = peer.base_url + REDIRECTED.replace("{mediaId}", quote(params["mediaId"]))
            second = Part({"Location": where})
        content_type, body = encode_multipart([
            Part({"Content-Type": "application/json"}, b"{}"), second])
        return RawAnswer(content_type, body)

    def direct(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> Any:
        found = lookup(params["mediaId"])
        headers = _media_headers(found)
        return RawAnswer(headers.pop("Content-Type"), found.data, headers)

    def legacy(peer: FakeHomeserver, request: Request, params: dict[str, str]) -> Any:
        if request.arg("allow_remote") != "false":
            raise target_fault("the fallback to the deprecated media download MUST set "
                               f"allow_remote=false (server-server-api/#content-repository), "
                               f"got {request.arg('allow_remote')!r}")
        found = lookup(params["mediaId"])
        headers = _media_headers(found)
        return RawAnswer(headers["Content-Type"], found.data,
                         {k: v for k, v in headers.items() if k != "Content-Type"})

    routes = [Route("GET", FEDERATION_V1 + "/media/download/{mediaId}", federation)]
    if not federation_endpoint:
        routes.append(Route("GET", MEDIA_V3 + "/download/{serverName}/{mediaId}", legacy,
                            signed=False))
    if redirect:
        routes.append(Route("GET", REDIRECTED, direct, signed=False))
    return tuple(routes)


def _media_headers(found: PeerMedia) -> dict[str, str]:
    headers = {"Content-Type": found.content_type}
    if found.filename:
        headers["Content-Disposition"] = (f"attachment; filename*=utf-8''"
                                          f"{quote(found.filename, safe='')}")
    return headers
