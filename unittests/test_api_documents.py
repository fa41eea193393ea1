# SPDX-License-Identifier: Apache-2.0
"""The documents under `api/` follow the conventions of `api/README.md`.

Each test runs one check of `tools/check_api.py` on one document, so a broken document
fails CI with a test named after it and a message saying what is wrong.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from api import API_ROOT, document_paths
from tools import check_api

DOCUMENTS = document_paths()
DEFINITIONS = check_api.definition_paths()


def _ids(paths: list[Path]) -> list[str]:
    return [path.relative_to(API_ROOT).as_posix() for path in paths]


def _assert_no_problems(problems: list[str]) -> None:
    assert not problems, "\n".join(problems)


def test_there_are_documents_to_check():
    """An empty `api/` (or a moved folder) must not make every other test vacuously pass."""
    assert DOCUMENTS, f"no OpenAPI documents found under {API_ROOT}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_document_is_valid_openapi_3_1(path: Path):
    _assert_no_problems(check_api.run(check_api.check_openapi, path))


@pytest.mark.parametrize("path", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_document_examples_match_their_schemas(path: Path):
    _assert_no_problems(check_api.run(check_api.check_examples, path))


@pytest.mark.parametrize("path", DEFINITIONS, ids=_ids(DEFINITIONS))
def test_definition_examples_match_their_schemas(path: Path):
    _assert_no_problems(check_api.run(check_api.check_definition_examples, path))


@pytest.mark.parametrize("path", DOCUMENTS + DEFINITIONS, ids=_ids(DOCUMENTS + DEFINITIONS))
def test_every_matrix_format_has_a_checker(path: Path):
    _assert_no_problems(check_api.run(check_api.check_formats, path))


@pytest.mark.parametrize("path", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_operations_follow_the_conventions(path: Path):
    _assert_no_problems(check_api.run(check_api.check_conventions, path))


def test_operation_ids_are_unique_across_documents():
    _assert_no_problems(check_api.run(check_api.check_unique_operation_ids, DOCUMENTS))
