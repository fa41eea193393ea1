# SPDX-License-Identifier: Apache-2.0
"""Stored filters: POST /user/{userId}/filter and GET /user/{userId}/filter/{filterId}
(filter.yaml).

Covers uploading and downloading a filter, that filters belong to their user, unknown
filter IDs, and the validation of filter bodies. Using a stored filter in /sync is
covered in test_sync.py.
"""
from __future__ import annotations

import pytest

from tests.harness.checks import expect_error, expect_ok

DEFINITION = {
    "room": {
        "timeline": {"limit": 10, "types": ["m.room.message"],
                     "not_senders": ["@spammer:example.org"]},
        "state": {"types": ["m.room.*"], "lazy_load_members": True},
        "ephemeral": {"types": ["m.receipt", "m.typing"]},
    },
    "presence": {"not_types": ["m.presence"]},
    "event_format": "client",
    "event_fields": ["type", "content", "sender"],
}


def upload(client, definition: dict) -> str:
    response = client.do("POST", ["user", client.user_id, "filter"], json=definition)
    return expect_ok(response, "upload a filter")["filter_id"]


def test_uploaded_filter_gets_an_id(hs):
    """Uploading a filter answers with a filter ID that does not start with `{`.

    Spec: client-server-api/#post_matrixclientv3useruseridfilter — the answer carries the
    new `filter_id`, which cannot start with `{` (that marks inline filter JSON).
    """
    alice = hs.register()
    filter_id = upload(alice, DEFINITION)
    assert filter_id and not filter_id.startswith("{"), f"unusable filter ID {filter_id!r}"


def test_downloaded_filter_matches_the_upload(hs):
    """Downloading a filter returns the definition that was uploaded.

    Spec: client-server-api/#get_matrixclientv3useruseridfilterfilterid — the answer is
    the filter definition stored under that ID.
    """
    alice = hs.register()
    filter_id = upload(alice, DEFINITION)
    stored = expect_ok(alice.do("GET", ["user", alice.user_id, "filter", filter_id]),
                       f"download filter {filter_id}")
    assert stored == DEFINITION, f"uploaded {DEFINITION}, downloaded {stored}"


def test_each_upload_gets_its_own_filter(hs):
    """Two different filters uploaded by one user are stored under different IDs.

    Spec: client-server-api/#post_matrixclientv3useruseridfilter — each upload stores a
    new filter definition and returns its ID.
    """
    alice = hs.register()
    first = upload(alice, {"room": {"timeline": {"limit": 1}}})
    second = upload(alice, {"room": {"timeline": {"limit": 2}}})
    got_first = expect_ok(alice.do("GET", ["user", alice.user_id, "filter", first]), "download")
    got_second = expect_ok(alice.do("GET", ["user", alice.user_id, "filter", second]), "download")
    assert got_first == {"room": {"timeline": {"limit": 1}}}, f"filter {first} is {got_first}"
    assert got_second == {"room": {"timeline": {"limit": 2}}}, f"filter {second} is {got_second}"


def test_unknown_filter_is_not_found(hs):
    """Downloading a filter ID the user never got is 404 M_NOT_FOUND.

    Spec: client-server-api/#get_matrixclientv3useruseridfilterfilterid — 404 for an
    unknown filter; M_NOT_FOUND is the code for a missing resource.
    """
    alice = hs.register()
    response = alice.do("GET", ["user", alice.user_id, "filter", "424242"])
    expect_error(response, 404, "M_NOT_FOUND")


def test_another_users_filter_cannot_be_downloaded(hs):
    """A user cannot read another user's filter through that user's filter path.

    Spec: client-server-api/#get_matrixclientv3useruseridfilterfilterid — filters belong
    to `userId`; the spec names only 404 for a filter that cannot be found, and servers
    also refuse a token that may not act for `userId` with 403 M_FORBIDDEN, so either
    403 M_FORBIDDEN or 404 M_NOT_FOUND is accepted.
    """
    alice, bob = hs.register(), hs.register()
    filter_id = upload(alice, DEFINITION)
    response = bob.do("GET", ["user", alice.user_id, "filter", filter_id])
    body = response.json() if response.content else {}
    assert (response.status_code, body.get("errcode")) in {(403, "M_FORBIDDEN"), (404, "M_NOT_FOUND")}, (
        f"expected 403 M_FORBIDDEN or 404 M_NOT_FOUND, got {response.status_code} {body}")


def test_filter_ids_are_per_user(hs):
    """Another user's filter ID does not name a filter of one's own.

    Spec: client-server-api/#get_matrixclientv3useruseridfilterfilterid — a filter is
    looked up for the user in the path; a user with no such filter gets 404.
    """
    alice, bob = hs.register(), hs.register()
    filter_id = upload(alice, DEFINITION)
    response = bob.do("GET", ["user", bob.user_id, "filter", filter_id])
    expect_error(response, 404, "M_NOT_FOUND")


def test_cannot_upload_a_filter_for_another_user(hs):
    """Uploading a filter under another user's ID is refused with 403 M_FORBIDDEN.

    Spec: client-server-api/#post_matrixclientv3useruseridfilter — the access token must
    be authorised to make requests for `userId`.
    """
    alice, bob = hs.register(), hs.register()
    response = bob.do("POST", ["user", alice.user_id, "filter"], json=DEFINITION)
    expect_error(response, 403, "M_FORBIDDEN")


@pytest.mark.parametrize("definition", [
    pytest.param({"room": {"timeline": {"limit": "ten"}}}, id="limit-not-an-integer"),
    pytest.param({"room": {"timeline": {"limit": 0}}}, id="limit-not-positive"),
    pytest.param({"room": "everything"}, id="room-not-an-object"),
    pytest.param({"room": {"timeline": {"types": "m.room.message"}}}, id="types-not-a-list"),
    pytest.param({"event_format": "xml"}, id="unknown-event-format"),
])
def test_invalid_filter_is_rejected(hs, definition):
    """A filter body that breaks the filter schema is refused with 400 M_BAD_JSON.

    Spec: client-server-api/#post_matrixclientv3useruseridfilter (Filter, EventFilter) and
    #common-error-codes — M_BAD_JSON is for valid JSON with invalid values; `limit` must
    be an integer greater than 0 and `event_format` is `client` or `federation`.
    """
    alice = hs.register()
    response = alice.do("POST", ["user", alice.user_id, "filter"], json=definition)
    expect_error(response, 400, "M_BAD_JSON")


def test_filter_body_that_is_not_json_is_rejected(hs):
    """A filter upload whose body is not JSON is refused with 400 M_NOT_JSON.

    Spec: client-server-api/#common-error-codes — M_NOT_JSON: the request did not contain
    valid JSON.
    """
    alice = hs.register()
    response = alice.do("POST", ["user", alice.user_id, "filter"], content=b"{not json",
                        headers={"Content-Type": "application/json"})
    expect_error(response, 400, "M_NOT_JSON")
