# SPDX-License-Identifier: Apache-2.0
"""The multipart/mixed codec of federation media downloads, and the suite's own decoder."""
from __future__ import annotations

import pytest

from reference_server.protocol import multipart
from tests.harness import media as suite_media

AWKWARD = b"\r\n\r\n--\r\n--boundary\x00\xff" * 3


def test_round_trip_keeps_bytes_that_look_like_delimiters() -> None:
    content_type, body = multipart.encode([
        multipart.Part({"Content-Type": "application/json"}, b"{}"),
        multipart.Part({"Content-Type": "image/png"}, AWKWARD)])
    parts = multipart.decode(content_type, body)
    assert [p.body for p in parts] == [b"{}", AWKWARD]
    assert parts[1].headers == {"content-type": "image/png"}


def test_the_suite_reads_what_the_server_writes() -> None:
    content_type, body = multipart.encode([
        multipart.Part({"Content-Type": "application/json"}, b"{}"),
        multipart.Part({"Content-Type": "text/plain"}, AWKWARD)])
    parts = suite_media.decode_multipart(content_type, body)
    assert [p.body for p in parts] == [b"{}", AWKWARD]


def test_the_server_reads_what_the_suite_writes() -> None:
    content_type, body = suite_media.encode_multipart([
        suite_media.Part({"Content-Type": "application/json"}, b"{}"),
        suite_media.Part({}, AWKWARD)])
    parts = multipart.decode(content_type, body)
    assert [p.body for p in parts] == [b"{}", AWKWARD]
    assert parts[1].headers == {}


def test_a_quoted_boundary_is_understood() -> None:
    body = b'--a b\r\nContent-Type: application/json\r\n\r\n{}\r\n--a b\r\n\r\nxyz\r\n--a b--\r\n'
    parts = multipart.decode('multipart/mixed; boundary="a b"', body)
    assert [p.body for p in parts] == [b"{}", b"xyz"]


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b"{}"),
    ("multipart/mixed", b"--x\r\n\r\n{}\r\n--x--"),
    ("multipart/mixed; boundary=x", b"no delimiters at all"),
])
def test_what_is_not_multipart_is_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(ValueError):
        multipart.decode(content_type, body)
