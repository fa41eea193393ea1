# SPDX-License-Identifier: Apache-2.0
"""Media files: written whole under their name, no temporary file left behind."""
from __future__ import annotations

from reference_server.storage.media import MediaFiles


def test_written_files_read_back_and_leave_no_temporaries(tmp_path) -> None:
    files = MediaFiles(tmp_path / "media")
    name = files.write(b"\x00bytes", "mediaId_1")
    other = files.write(b"more")
    assert name == "mediaId_1" and files.read(name) == b"\x00bytes"
    assert files.read(other) == b"more"
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == sorted([name, other])


def test_a_missing_file_reads_as_none(tmp_path) -> None:
    assert MediaFiles(tmp_path).read("absent") is None
