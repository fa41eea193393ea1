# SPDX-License-Identifier: Apache-2.0
"""The homeserver asking the application service about unknown users and aliases.

When something names an alias or a user of the service's namespaces that the homeserver
does not know, it asks the service (`GET /_matrix/app/v1/rooms/{roomAlias}`, `GET
/_matrix/app/v1/users/{userId}`). The service may create the entity before answering
200; then the homeserver carries on with it. A 404 means it does not exist. Names
outside the namespaces are never asked about.

The spec names joining an alias and an event for a user (such as an invite) as the
occasions for a query, and the tests that require a query use those. Resolving an alias
in the directory or looking up a profile may ask the service or not: those tests accept
either, and hold a server that asks to the service's answer.

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


def test_joining_an_unknown_namespaced_alias_the_service_denies_fails(hs, appservice):
    """Joining an unknown alias of the namespace asks the service about it; after its 404
    the join fails with 404.

    Spec: application-service-api/#get_matrixappv1roomsroomalias — the homeserver sends
    the query when asked to join an alias of the service's namespace; 404 means the alias
    does not exist. client-server-api/#post_matrixclientv3joinroomidoralias — the alias
    must resolve (api/ documents 404 for one that does not; the spec names no errcode).
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    appservice.answer_alias_query(alias)

    expect_error(alice.do("POST", ["join", alias], json={}), 404)

    assert appservice.queries() == [Query("alias", alias, 404, legacy=False)]


def test_directory_lookup_of_an_unknown_namespaced_alias_honours_the_service(hs, appservice):
    """Resolving an unknown alias of the namespace may ask the service: a server that
    asks, and hears that the service made the alias, serves the service's room; one that
    does not ask answers 404 M_NOT_FOUND.

    Spec: application-service-api/#get_matrixappv1roomsroomalias — queries are named for
    joins, not for directory lookups; a 200 answer means the service has created the
    room and alias. client-server-api/#get_matrixclientv3directoryroomroomalias — 404
    M_NOT_FOUND for an alias that does not exist.
    """
    alice = hs.register()
    alias = appservice.fresh_alias()
    made: list[str] = []
    appservice.answer_alias_query(alias, create=creating_room(appservice, made))

    response = alice.do("GET", ["directory", "room", alias])

    if appservice.queries():
        assert appservice.queries() == [Query("alias", alias, 200, legacy=False)]
        answer = expect_ok(response, f"resolve {alias}, which the service made when asked")
        assert made and answer["room_id"] == made[0], (answer, made)
    else:
        expect_error(response, 404, "M_NOT_FOUND")


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
    user; the invite goes through.

    The spec does not say whether the invite waits for the query, so the query may
    arrive after the invite was answered: the test waits for it.

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
    answered = appservice.wait_for(
        lambda: all(q.status for q in appservice.queries()) and appservice.queries(),
        what=f"an answered query about {user_id}")
    assert answered == [Query("user", user_id, 200, legacy=False)]


def test_profile_lookup_of_an_unknown_namespaced_user_honours_the_service(hs, appservice):
    """Looking up an unknown namespaced user's profile may ask the service: a server that
    asks, and hears that the service registered the user, serves the profile; one that
    does not ask finds no such user.

    A missing user's profile is 404, or 403 when the server will not say whether the
    user exists (v1.12); the errcode is the client-server profile tests' concern.

    Spec: application-service-api/#get_matrixappv1usersuserid — queries are named for
    events about the user, such as an invite, not for profile lookups; a 200 answer
    means the service has created the user. client-server-api/#get_matrixclientv3profileuserid.
    """
    alice = hs.register()
    user_id = appservice.fresh_user_id()
    appservice.answer_user_query(user_id)

    response = alice.do("GET", ["profile", user_id])

    if appservice.queries():
        assert appservice.queries() == [Query("user", user_id, 200, legacy=False)]
        expect_ok(response, f"get the profile of {user_id}, whom the service registered")
    else:
        assert response.status_code in (403, 404), \
            f"GET /profile/{user_id}: {response.status_code} {response.text[:300]}"


def test_profile_of_a_user_the_service_denies_is_not_found(hs, appservice):
    """A profile lookup of an unknown namespaced user the service denies fails, whether
    or not the server asked the service (it may).

    A missing user's profile is 404, or 403 when the server will not say whether the
    user exists (v1.12); the errcode is the client-server profile tests' concern.

    Spec: application-service-api/#get_matrixappv1usersuserid — 404 means the user does
    not exist; client-server-api/#get_matrixclientv3profileuserid.
    """
    alice = hs.register()
    user_id = appservice.fresh_user_id()
    appservice.answer_user_query(user_id, exists=False)

    response = alice.do("GET", ["profile", user_id])

    assert response.status_code in (403, 404), \
        f"GET /profile/{user_id}: {response.status_code} {response.text[:300]}"
    assert appservice.queries() in ([], [Query("user", user_id, 404, legacy=False)])


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
