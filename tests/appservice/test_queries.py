# SPDX-License-Identifier: Apache-2.0
"""The homeserver asking the application service about unknown users and aliases.

When something names an alias or a user of the service's namespaces that the homeserver
does not know, it asks the service (`GET /_matrix/app/v1/rooms/{roomAlias}`, `GET
/_matrix/app/v1/users/{userId}`). The service may create the entity before answering
200; then the homeserver carries on with it. A 404 means it does not exist. Names
outside the namespaces are never asked about.

The spec names joining an alias and an invite as occasions for a query; resolving an
alias in the directory and looking up a profile are the plainest client requests that
ask whether an alias or a user exists, and the tests use them as well.

Spec: application-service-api/#querying, #get_matrixappv1roomsroomalias,
#get_matrixappv1usersuserid.
"""
from __future__ import annotations

import pytest

from tests.harness.appservice_records import Query
from tests.harness.assertions import expect_error, expect_ok

pytestmark = pytest.mark.appservice


def creating_room(appservice, made: list):
    """A `create=` callback making a public room with the alias, remembering its ID."""
    def create(alias: str) -> None:
        made.append(appservice.make_room_for_alias(alias))
    return create


# -- aliases ----------------------------------------------------------------------------------


def test_unknown_alias_in_the_namespace_is_queried(hs, appservice):
    """Resolving an unknown alias of the service's namespace asks the service about it;
    its 404 becomes the client's 404 M_NOT_FOUND.

    Spec: application-service-api/#get_matrixappv1roomsroomalias — the homeserver asks
    about aliases in the service's namespace; 404 means the alias does not exist.
    client-server-api/#get_matrixclientv3directoryroomroomalias — 404 for an unknown alias.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    appservice.answer_alias_query(alias)

    expect_error(alice.do("GET", ["directory", "room", alias]), 404, "M_NOT_FOUND")

    assert appservice.queries() == [Query("alias", alias, 404, legacy=False)]


def test_alias_created_by_the_service_resolves(hs, appservice):
    """When the service creates the queried alias and answers 200, the lookup finds its room.

    Spec: application-service-api/#get_matrixappv1roomsroomalias — a 200 answer means
    the service has created the room and alias; the homeserver then serves it.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    made: list[str] = []
    appservice.answer_alias_query(alias, create=creating_room(appservice, made))

    answer = expect_ok(alice.do("GET", ["directory", "room", alias]), f"resolve {alias}")

    assert made and answer["room_id"] == made[0], (answer, made)
    assert [q.status for q in appservice.queries()] == [200]


def test_joining_an_unknown_namespaced_alias_creates_the_room(hs, appservice):
    """Joining an unknown alias of the namespace asks the service, which makes the room;
    the join then lands in that room.

    Spec: application-service-api/#get_matrixappv1roomsroomalias — the homeserver sends
    the query when it receives a request to join an alias in the service's namespace.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    made: list[str] = []
    appservice.answer_alias_query(alias, create=creating_room(appservice, made))

    joined = alice.join(alias)

    assert made and joined == made[0], (joined, made)
    assert [(q.kind, q.id) for q in appservice.queries()] == [("alias", alias)]


def test_known_alias_resolves_without_the_service(hs, appservice):
    """An alias that exists resolves at once; the service gives no answer it could need.

    The suite's service would answer 404 for it, so a server that asked and believed
    the answer would fail the lookup.

    Spec: application-service-api/#querying — the service is asked about entities the
    homeserver does not know; client-server-api/#get_matrixclientv3directoryroomroomalias.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    room = appservice.make_room_for_alias(alias)

    answer = expect_ok(alice.do("GET", ["directory", "room", alias]), f"resolve {alias}")

    assert answer["room_id"] == room, answer


def test_alias_outside_the_namespace_is_not_queried(hs, appservice):
    """An unknown alias outside every namespace is not asked about: plain 404 M_NOT_FOUND.

    The query would have happened before the answer, so its absence is known at once.

    Spec: application-service-api/#get_matrixappv1roomsroomalias — the homeserver only
    queries aliases inside the service's aliases namespace.
    """
    alice = hs.register()
    alias = f"#plain_{appservice.tag}_1:{hs.server_name}"

    expect_error(alice.do("GET", ["directory", "room", alias]), 404, "M_NOT_FOUND")

    assert appservice.queries() == []


# -- users ------------------------------------------------------------------------------------


def test_inviting_an_unknown_namespaced_user_queries_the_service(hs, appservice):
    """Inviting an unknown user of the namespace asks the service, which registers the
    user; the invite then goes through.

    Spec: application-service-api/#get_matrixappv1usersuserid — the homeserver queries
    unknown users of the service's namespace when it gets an event for one, such as a
    room invite; a 200 answer means the service has created the user.
    """
    alice = hs.register()
    room = alice.create_room()
    user_id = appservice.fresh_user_id()
    appservice.answer_user_query(user_id)

    alice.invite(room, user_id)

    assert alice.get_state(room, "m.room.member", user_id)["membership"] == "invite"
    assert appservice.queries() == [Query("user", user_id, 200, legacy=False)]


def test_profile_of_an_unknown_namespaced_user_queries_the_service(hs, appservice):
    """Looking up an unknown namespaced user's profile asks the service, which registers
    the user; the profile is then served.

    Spec: application-service-api/#get_matrixappv1usersuserid — a 200 answer means the
    service has created the user with the client-server API.
    """
    alice = hs.register()
    user_id = appservice.fresh_user_id()
    appservice.answer_user_query(user_id)

    expect_ok(alice.do("GET", ["profile", user_id]), f"get the profile of {user_id}")

    assert appservice.queries() == [Query("user", user_id, 200, legacy=False)]


def test_profile_of_a_user_the_service_denies_is_not_found(hs, appservice):
    """When the service answers 404 for the queried user, the profile lookup fails.

    The profile API answers 404 for a user who does not exist, or 403 when the server
    will not say whether they do (v1.12): either is allowed.

    Spec: application-service-api/#get_matrixappv1usersuserid — 404 means the user does
    not exist; client-server-api/#get_matrixclientv3profileuserid.
    """
    alice = hs.register()
    user_id = appservice.fresh_user_id()
    appservice.answer_user_query(user_id, exists=False)

    response = alice.do("GET", ["profile", user_id])

    allowed = {(404, "M_NOT_FOUND"), (403, "M_FORBIDDEN")}
    body = response.json() if response.headers.get("content-type", "").startswith(
        "application/json") else {}
    assert (response.status_code, body.get("errcode")) in allowed, \
        f"GET /profile/{user_id}: {response.status_code} {response.text[:300]}"
    assert appservice.queries() == [Query("user", user_id, 404, legacy=False)]


def test_user_outside_the_namespace_is_not_queried(hs, appservice):
    """An unknown user outside every namespace is not asked about.

    Spec: application-service-api/#get_matrixappv1usersuserid — the homeserver only
    queries user IDs inside the service's users namespace.
    """
    alice = hs.register()
    user_id = f"@plain_{appservice.tag}_1:{hs.server_name}"

    response = alice.do("GET", ["profile", user_id])

    assert response.status_code in (403, 404), response.text
    assert appservice.queries() == []
