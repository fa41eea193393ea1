# SPDX-License-Identifier: Apache-2.0
"""X-Matrix request authentication: the target accepts only requests its sender signed.

Every row sends the same request, an empty transaction (`PUT /send/{txnId}`), which
a correctly signed peer may always send; only the Authorization header differs.

Spec: server-server-api/#request-authentication.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.client import build_path
from tests.harness.crypto import SigningKey, sign_json
from tests.harness.federation_auth import signed_request_json
from tests.harness.federation_handlers import handle_keys
from tests.harness.federation_peers import unreachable_server_name
from tests.harness.federation_routes import FEDERATION_V1


@dataclass(frozen=True)
class Signing:
    """What the X-Matrix header claims and signs, and what is really sent."""

    method: str
    uri: str
    origin: str
    destination: str
    key: SigningKey
    content: dict

    def signature(self) -> str:
        signed = sign_json(signed_request_json(self.method, self.uri, self.origin,
                                               self.destination, self.content),
                           self.origin, self.key)
        return signed["signatures"][self.origin][self.key.key_id]

    def header(self) -> str:
        return (f'X-Matrix origin="{self.origin}",destination="{self.destination}",'
                f'key="{self.key.key_id}",sig="{self.signature()}"')


def empty_transaction(origin: str) -> dict:
    return {"origin": origin, "origin_server_ts": int(time.time() * 1000), "pdus": []}


def new_txn_uri() -> str:
    return build_path(FEDERATION_V1, ["send", f"auth{secrets.token_hex(6)}"])


def send_signed(federation, signing: Signing, *, header: str | None, uri: str | None = None,
                content: dict | None = None):
    """Sends `PUT uri` (default: the signed one) with `content` (default: the signed one)."""
    path = (uri or signing.uri).removeprefix(FEDERATION_V1 + "/").split("/")
    headers = {"Authorization": header} if header is not None else None
    return federation.do("PUT", path, json=signing.content if content is None else content,
                         sign=False, headers=headers)


def honest(federation) -> Signing:
    peer = federation.peer
    return Signing("PUT", new_txn_uri(), peer.server_name, federation.destination, peer.key,
                   empty_transaction(peer.server_name))


def test_a_correctly_signed_request_is_accepted(federation):
    """A request signed by its origin with a key it publishes is accepted.

    Spec: server-server-api/#request-authentication — the origin signs the method, URI,
    origin, destination and body; the receiver checks it with the origin's key.
    """
    signing = honest(federation)
    expect_ok(send_signed(federation, signing, header=signing.header()),
              "send an empty transaction signed correctly")


# -- refused: each row breaks one thing the signature must cover --------------------------
# A row returns what the header signs and what is sent instead: {"header": None} sends no
# Authorization header, {"content": ...} or {"uri": ...} sends other than was signed.


def unsigned(signing, fake_homeserver):
    return signing, {"header": None}


def signed_with_another_key_under_the_published_id(signing, fake_homeserver):
    forged = SigningKey.generate(signing.key.key_id.split(":", 1)[1])
    return replace(signing, key=forged), {}


def signed_with_an_unpublished_key_id(signing, fake_homeserver):
    return replace(signing, key=SigningKey.generate("unpublished_" + secrets.token_hex(3))), {}


def addressed_to_another_destination(signing, fake_homeserver):
    return replace(signing, destination="elsewhere.example.org"), {}


def body_changed_after_signing(signing, fake_homeserver):
    tampered = {**signing.content, "origin_server_ts": signing.content["origin_server_ts"] + 1}
    return signing, {"content": tampered}


def uri_changed_after_signing(signing, fake_homeserver):
    return signing, {"uri": new_txn_uri()}


def method_changed_after_signing(signing, fake_homeserver):
    return replace(signing, method="POST"), {}


def claims_an_origin_that_did_not_sign(signing, fake_homeserver):
    # Another server publishing its own key under the same key ID as the signer's.
    other = fake_homeserver(handle_keys(),
                            key=SigningKey.generate(signing.key.key_id.split(":", 1)[1]))
    return replace(signing, origin=other.server_name,
                   content=empty_transaction(other.server_name)), {}


def from_an_origin_whose_keys_cannot_be_fetched(signing, fake_homeserver):
    origin = unreachable_server_name()
    return replace(signing, origin=origin, content=empty_transaction(origin)), {}


@pytest.mark.parametrize("forge", [
    pytest.param(unsigned, id="no-authorization-header"),
    pytest.param(signed_with_another_key_under_the_published_id, id="wrong-key"),
    pytest.param(signed_with_an_unpublished_key_id, id="unpublished-key-id"),
    pytest.param(addressed_to_another_destination, id="wrong-destination"),
    pytest.param(body_changed_after_signing, id="tampered-body"),
    pytest.param(uri_changed_after_signing, id="tampered-uri"),
    pytest.param(method_changed_after_signing, id="tampered-method"),
    pytest.param(claims_an_origin_that_did_not_sign, id="origin-not-the-signer"),
    pytest.param(from_an_origin_whose_keys_cannot_be_fetched, id="origin-keys-unavailable"),
])
def test_a_request_whose_signature_does_not_hold_is_refused(federation, fake_homeserver, forge):
    """A request is refused with 401 M_UNAUTHORIZED unless its origin's signature verifies.

    Spec: server-server-api/#request-authentication — every federation request is
    authenticated by the origin's signature over the method, URI, origin, destination
    and body, made with a key the origin publishes; a `destination` other than the
    receiver MUST be denied with 401. The api/ documents give every signed endpoint
    401 `M_UNAUTHORIZED` (the code for a request that is not correctly authorized) for
    the other failures too.
    """
    signing, sent = forge(honest(federation), fake_homeserver)
    sent.setdefault("header", signing.header())
    expect_error(send_signed(federation, signing, **sent), 401, "M_UNAUTHORIZED")


# -- accepted: the header syntax the spec allows a sender ----------------------------------


def parameters_reordered(signing):
    return (f'X-Matrix sig="{signing.signature()}",key="{signing.key.key_id}",'
            f'destination="{signing.destination}",origin="{signing.origin}"')


def names_in_upper_case(signing):
    return (f'X-Matrix ORIGIN="{signing.origin}",Destination="{signing.destination}",'
            f'KEY="{signing.key.key_id}",Sig="{signing.signature()}"')


def whitespace_around_commas(signing):
    return (f'X-Matrix origin="{signing.origin}" , destination="{signing.destination}"\t,'
            f'\tkey="{signing.key.key_id}" ,sig="{signing.signature()}"')


def several_spaces_after_the_scheme(signing):
    return "X-Matrix   " + signing.header().removeprefix("X-Matrix ")


def backslash_escapes_in_quoted_values(signing):
    escaped = "".join("\\" + char for char in signing.origin)
    return (f'X-Matrix origin="{escaped}",destination="{signing.destination}",'
            f'key="{signing.key.key_id}",sig="{signing.signature()}"')


def an_unknown_parameter(signing):
    return signing.header() + ',flavour="vanilla"'


@pytest.mark.parametrize("write", [
    pytest.param(parameters_reordered, id="parameters-in-any-order"),
    pytest.param(names_in_upper_case, id="names-case-insensitive"),
    pytest.param(whitespace_around_commas, id="spaces-and-tabs-around-commas"),
    pytest.param(several_spaces_after_the_scheme, id="several-spaces-after-scheme"),
    pytest.param(backslash_escapes_in_quoted_values, id="backslash-escapes"),
    pytest.param(an_unknown_parameter, id="unknown-parameter-ignored"),
])
def test_the_authorization_header_is_read_as_the_spec_allows(federation, write):
    """A correctly signed request is accepted whatever header syntax the spec allows.

    Spec: server-server-api/#request-authentication — the header follows RFC 9110
    §11.4: one or more spaces after `X-Matrix`, parameters in any order with
    case-insensitive names, spaces and tabs allowed around commas, quoted values whose
    backslash escapes the recipient must undo, and unknown parameters ignored.
    """
    signing = honest(federation)
    expect_ok(send_signed(federation, signing, header=write(signing)),
              "send an empty transaction signed with an unusual but valid header")
