# SPDX-License-Identifier: Apache-2.0
"""Assertions on single exchanges, whose failures show the whole exchange.

A conformance failure is read by someone who did not write the test, often about a
server they did not write either: the message must carry the request, the answer and
what the spec wanted, so that nobody needs to rerun anything to understand it.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.harness.schema import trim

JsonDict = dict[str, Any]


def describe_request(response: httpx.Response) -> str:
    """`METHOD /path` as sent, with escapes undone for reading."""
    request = response.request
    return f"{request.method} {unquote(request.url.raw_path.decode('ascii'))}"


def describe_answer(response: httpx.Response) -> str:
    """`STATUS body` with the body trimmed to a readable length."""
    return f"{response.status_code} {trim(response.text) or '(empty body)'}"


def body_of(response: httpx.Response) -> Any:
    """The JSON body, or None if there is none or it is not JSON."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def expect_ok(response: httpx.Response, doing: str) -> JsonDict:
    """Fails unless the answer is 2xx; returns its JSON object (empty if none).

    `doing` says what the request was for (`"join !abc:hs"`), so the message reads as a
    sentence: "join !abc:hs: expected a 2xx answer; the server answered 403 {...}".
    """
    if not 200 <= response.status_code < 300:
        pytest.fail(
            f"{doing}: expected a 2xx answer; the server answered {describe_answer(response)}"
            f"\n  request: {describe_request(response)}",
            pytrace=False,
        )
    body = body_of(response)
    if response.content and not isinstance(body, dict):
        pytest.fail(f"{doing}: expected a JSON object; the server answered "
                    f"{describe_answer(response)}\n  request: {describe_request(response)}",
                    pytrace=False)
    return body or {}


# A body missing a required key: the spec's common error codes fit both (M_BAD_JSON:
# "malformed in some way, e.g. missing required keys"; M_MISSING_PARAM: "a required
# parameter was missing"), so tests accept either where no endpoint names one.
MISSING_KEY = ("M_BAD_JSON", "M_MISSING_PARAM")


def expect_error(response: httpx.Response, status: int,
                 errcode: str | tuple[str, ...] | None = None) -> JsonDict:
    """Fails unless the answer has this status and (if given) this `errcode` (or one of
    these errcodes).

    Returns the error body so a test can look further (e.g. at `retry_after_ms`).
    """
    body = body_of(response)
    got_errcode = body.get("errcode") if isinstance(body, dict) else None
    allowed = (errcode,) if isinstance(errcode, str) else errcode
    if response.status_code == status and (allowed is None or got_errcode in allowed):
        return body if isinstance(body, dict) else {}
    wanted = f"{status} {' or '.join(allowed)}" if allowed else str(status)
    pytest.fail(
        f"the spec requires {wanted}; the server answered {describe_answer(response)}"
        f"\n  request: {describe_request(response)}",
        pytrace=False,
    )


def expect_status(response: httpx.Response, status: int) -> Any:
    """Fails unless the answer has exactly this status; returns the JSON body (or None)."""
    if response.status_code != status:
        pytest.fail(
            f"the spec requires {status}; the server answered {describe_answer(response)}"
            f"\n  request: {describe_request(response)}",
            pytrace=False,
        )
    return body_of(response)


def expect_one_error(response: httpx.Response, *allowed: tuple[int, str]) -> JsonDict:
    """Fails unless the answer is one of the `(status, errcode)` pairs the spec allows.

    For the places where the spec lets a server choose, e.g. 403 or 404 for an unknown
    user: `expect_one_error(resp, (403, "M_FORBIDDEN"), (404, "M_NOT_FOUND"))`.
    """
    body = body_of(response)
    got_errcode = body.get("errcode") if isinstance(body, dict) else None
    if (response.status_code, got_errcode) in allowed:
        return body
    wanted = " or ".join(f"{status} {errcode}" for status, errcode in allowed)
    pytest.fail(
        f"the spec allows {wanted}; the server answered {describe_answer(response)}"
        f"\n  request: {describe_request(response)}",
        pytrace=False,
    )
