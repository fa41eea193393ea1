# SPDX-License-Identifier: Apache-2.0
"""Response checking against `api/`: routing real paths, statuses, schemas, formats."""
from __future__ import annotations

import httpx
import pytest

from api import Operation, load_operations
from tests.harness.client import build_path, retry_delay
from tests.harness.schema import OperationIndex, Recorder, ResponseChecker


@pytest.fixture(scope="module")
def index():
    return OperationIndex(load_operations())


@pytest.fixture
def checker():
    return ResponseChecker(load_operations(), Recorder())


@pytest.mark.parametrize(
    ("method", "segments", "prefix", "operation_id"),
    [
        pytest.param("GET", ["versions"], "/_matrix/client", "getVersions", id="versions"),
        pytest.param("GET", ["client"], "/.well-known/matrix", "getWellknown", id="well-known"),
        pytest.param("POST", ["register"], "/_matrix/client/v3", "register", id="register"),
        pytest.param("GET", ["register", "available"], "/_matrix/client/v3",
                     "checkUsernameAvailability", id="literal-sub-path"),
        pytest.param("GET", ["account", "whoami"], "/_matrix/client/v3", "getTokenOwner",
                     id="whoami"),
        pytest.param("PUT", ["rooms", "!a:hs", "state", "m.room.name", ""], "/_matrix/client/v3",
                     "setRoomStateWithKey", id="empty-state-key"),
        pytest.param("PUT", ["rooms", "!a:hs", "send", "m.room.message", "t1"],
                     "/_matrix/client/v3", "sendMessage", id="escaped-room-id"),
        pytest.param("GET", ["profile", "@a/b:hs", "displayname"], "/_matrix/client/v3",
                     "getProfileField", id="slash-inside-a-segment"),
    ],
)
def test_real_paths_find_their_operation(index, method, segments, prefix, operation_id):
    found = index.match(method, build_path(prefix, segments) + "?x=1")
    assert found is not None and found.operation_id == operation_id


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/_matrix/client/v3/no/such/thing"), ("DELETE", "/_matrix/client/versions"),
     ("GET", "/_matrix/client/v3/account/whoami/extra")],
)
def test_unknown_requests_find_nothing(index, method, path):
    assert index.match(method, path) is None


def test_literal_segments_win_over_parameters():
    def operation(op_id, path):
        return Operation(op_id, "GET", path, "client-server", "client-server/x", spec={})

    index = OperationIndex([operation("param", "/a/{x}/b"), operation("literal", "/a/c/{y}"),
                            operation("both", "/a/c/b")])
    assert index.match("GET", "/a/c/b").operation_id == "both"
    assert index.match("GET", "/a/c/z").operation_id == "literal"
    assert index.match("GET", "/a/z/b").operation_id == "param"


def answer(method, path, status, body=None, **kwargs):
    request = httpx.Request(method, "http://hs.test" + path)
    if body is not None:
        kwargs["json"] = body
    return httpx.Response(status, request=request, **kwargs)


def test_conforming_answer_passes_and_is_recorded(checker):
    checker.check(answer("GET", "/_matrix/client/v3/account/whoami", 200,
                         {"user_id": "@a:hs.test", "device_id": "D"}))
    checker.check(answer("GET", "/_matrix/client/v3/account/whoami", 200, {"user_id": "@b:hs"}))
    checker.check(answer("GET", "/elsewhere", 200, {}))
    assert checker.recorder.operation_ids() == ["getTokenOwner"]
    assert checker.recorder.features() == ["client-server/whoami"] * 2
    assert checker.recorder.unknown == ["GET /elsewhere"]


def test_schema_mismatch_names_operation_path_and_problem(checker):
    problem = checker.problem(
        checker.index.match("GET", "/_matrix/client/v3/account/whoami"),
        answer("GET", "/_matrix/client/v3/account/whoami", 200, {"user_id": 42}))
    assert "getTokenOwner" in problem and "$.user_id" in problem
    assert "42 is not of type 'string'" in problem


def test_matrix_formats_are_checked(checker):
    problem = checker.problem(
        checker.index.match("GET", "/_matrix/client/v3/account/whoami"),
        answer("GET", "/_matrix/client/v3/account/whoami", 200, {"user_id": "alice"}))
    assert "'alice' is not a 'mx-user-id'" in problem


def test_an_operation_id_shared_by_two_apis_is_checked_against_each_ones_schema(checker):
    """getRoomState is a client-server operation (a JSON array) and a server-server one
    (an object): checking one must not make the other's answers fail."""
    checker.check(answer("GET", "/_matrix/client/v3/rooms/!r:hs/state", 200, []))
    checker.check(answer("GET", "/_matrix/federation/v1/state/!r:hs?event_id=%24e", 200,
                         {"pdus": [], "auth_chain": []}))


def test_undocumented_status_is_a_failure(checker):
    with pytest.raises(pytest.fail.Exception, match="does not list status 418 for getVersions"):
        checker.check(answer("GET", "/_matrix/client/versions", 418, {"errcode": "M_TEAPOT"}))


def test_undocumented_rate_limit_is_tolerated(checker):
    checker.check(answer("GET", "/_matrix/client/versions", 429,
                         {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 5}))


def test_a_json_body_that_is_not_json_is_a_failure(checker):
    response = answer("GET", "/_matrix/client/versions", 200, content=b"<html>",
                      headers={"content-type": "text/html"})
    with pytest.raises(pytest.fail.Exception, match="'text/html'"):
        checker.check(response)


@pytest.mark.parametrize(
    ("response", "seconds"),
    [
        pytest.param(httpx.Response(429, json={"retry_after_ms": 1500}), 1.5, id="body"),
        pytest.param(httpx.Response(429, headers={"Retry-After": "2"}), 2.0, id="header"),
        pytest.param(httpx.Response(429, json={"retry_after_ms": 10**9}), 30.0, id="capped"),
        pytest.param(httpx.Response(429), 1.0, id="unspecified"),
    ],
)
def test_rate_limit_waits_as_told(response, seconds):
    assert retry_delay(response) == seconds


def test_segments_are_escaped_whole():
    assert build_path("/p", ["rooms", "!r:hs", "#a/b?c", 5]) == "/p/rooms/%21r%3Ahs/%23a%2Fb%3Fc/5"
    with pytest.raises(TypeError):
        build_path("/p", "rooms/x")


DOWNLOAD = "/_matrix/client/v1/media/download/hs.test/abc"
FEDERATION_DOWNLOAD = "/_matrix/federation/v1/media/download/abc"


def _problem(checker, path, status, **kwargs):
    response = answer("GET", path, status, **kwargs)
    return checker.problem(checker.index.match("GET", path), response)


def test_media_bytes_with_their_type_pass(checker):
    assert _problem(checker, DOWNLOAD, 200, content=b"\x00\xff",
                    headers={"Content-Type": "image/png"}) is None


def test_media_bytes_without_a_type_fail(checker):
    assert "no Content-Type" in _problem(checker, DOWNLOAD, 200, content=b"\x00\xff")


def test_a_federation_download_must_be_multipart_with_a_boundary(checker):
    ok = {"Content-Type": "multipart/mixed; boundary=xyz"}
    assert _problem(checker, FEDERATION_DOWNLOAD, 200, content=b"--xyz--", headers=ok) is None
    for wrong in ("multipart/mixed", "application/octet-stream"):
        assert "multipart/mixed" in _problem(checker, FEDERATION_DOWNLOAD, 200, content=b"x",
                                             headers={"Content-Type": wrong})


def test_media_errors_are_still_held_to_json(checker):
    assert _problem(checker, DOWNLOAD, 404, content=b"not json",
                    headers={"Content-Type": "text/plain"}) is not None
