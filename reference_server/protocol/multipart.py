# SPDX-License-Identifier: Apache-2.0
"""`multipart/mixed` (RFC 2046) as federation media downloads use it: two parts, JSON
metadata then the media, each with its own headers."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

_BOUNDARY = re.compile(r"""boundary=(?:"([^"]+)"|([^;\s]+))""", re.IGNORECASE)


@dataclass
class Part:
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


def encode(parts: list[Part]) -> tuple[str, bytes]:
    """The Content-Type (with a fresh boundary) and the body holding `parts`."""
    boundary = secrets.token_hex(16)
    chunks: list[bytes] = []
    for part in parts:
        chunks.append(f"--{boundary}\r\n".encode())
        for name, value in part.headers.items():
            chunks.append(f"{name}: {value}\r\n".encode("latin-1"))
        chunks.append(b"\r\n" + part.body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)


def decode(content_type: str, body: bytes) -> list[Part]:
    """The parts of a multipart body; ValueError when it is not one."""
    if not content_type.lower().startswith("multipart/"):
        raise ValueError(f"not a multipart answer: {content_type!r}")
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise ValueError("multipart Content-Type without a boundary")
    delimiter = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
    sections = body.split(delimiter)
    if len(sections) < 3:
        raise ValueError("multipart body without parts")
    parts = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            break  # the closing delimiter
        parts.append(_part(section))
    return parts


def _part(section: bytes) -> Part:
    section = section[2:] if section.startswith(b"\r\n") else section.lstrip(b"\n")
    if section.startswith(b"\r\n"):  # no headers at all
        head, body = b"", section[2:]
    else:
        head, separator, body = section.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("multipart part without a blank line after its headers")
    if body.endswith(b"\r\n"):
        body = body[:-2]
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Part(headers, body)
