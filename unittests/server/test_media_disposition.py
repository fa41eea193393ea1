# SPDX-License-Identifier: Apache-2.0
"""Content-Disposition of served media: inline only for the spec's safe types."""
from __future__ import annotations

import pytest

from reference_server.services.media import disposition
from tests.harness.media import disposition as read_disposition


class _Answer:
    def __init__(self, header: str) -> None:
        self.headers = {"content-disposition": header}


@pytest.mark.parametrize("content_type, kind", [
    ("image/png", "inline"), ("text/plain; charset=utf-8", "inline"),
    ("IMAGE/JPEG", "inline"), ("text/html", "attachment"), ("image/svg+xml", "attachment"),
    ("application/octet-stream", "attachment"),
])
def test_inline_only_for_safe_types(content_type: str, kind: str) -> None:
    assert disposition(content_type, None) == kind


@pytest.mark.parametrize("name", ["plain.txt", 'quote".txt', "back\\slash", "résumé.pdf",
                                  "space name.bin", "semi;colon.txt"])
def test_file_names_survive_the_round_trip(name: str) -> None:
    header = disposition("application/pdf", name)
    assert read_disposition(_Answer(header)) == ("attachment", name)
