# SPDX-License-Identifier: Apache-2.0
"""Media over federation: serving our users' uploads to other servers, and fetching
other servers' media for our users.

Spec: server-server-api/#content-repository.
"""
from __future__ import annotations

import json
import secrets

from tests.harness.assertions import expect_error
from tests.harness.federation_handlers import handle_keys
from tests.harness.media import PeerMedia, decode_multipart, disposition, download, image_size, png, \
    handle_media, parse_mxc, upload


def test_a_peer_downloads_local_media_as_two_parts(hs, federation):
    """A signed download of local media answers multipart/mixed: JSON metadata, then the
    bytes with their Content-Type.

    Spec: server-server-api/#get_matrixfederationv1mediadownloadmediaid — the answer is
    `multipart/mixed` with exactly two parts, the first a JSON object of metadata, the
    second the media (or a `Location` to fetch it from).
    """
    alice = hs.register()
    data = b"\r\n--x\r\n" + secrets.token_bytes(256)
    _, media_id = parse_mxc(upload(alice, data, "image/png", filename="pic.png"))

    response = federation.do("GET", ["media", "download", media_id])

    assert response.status_code == 200, response.text
    parts = decode_multipart(response.headers["content-type"], response.content)
    assert len(parts) == 2, parts
    assert isinstance(json.loads(parts[0].body), dict), parts[0]
    media = parts[1]
    if "location" not in media.headers:
        assert media.body == data
        assert media.headers.get("content-type", "").split(";")[0] == "image/png", media.headers


def test_unknown_media_is_not_found_over_federation(hs, federation):
    """A federation download of a media ID never issued answers 404 M_NOT_FOUND.

    Spec: server-server-api/#content-repository (as the client-server media endpoints:
    unknown media is `M_NOT_FOUND`).
    """
    response = federation.do("GET", ["media", "download", f"missing{secrets.token_hex(6)}"])
    expect_error(response, 404, "M_NOT_FOUND")


def test_an_unsigned_federation_download_is_refused(hs, federation):
    """A federation media download without an X-Matrix signature answers 401.

    Spec: server-server-api/#request-authentication — requests from other servers MUST
    be authenticated with a signed `Authorization` header.
    """
    alice = hs.register()
    _, media_id = parse_mxc(upload(alice, b"secret", "text/plain"))

    response = federation.do("GET", ["media", "download", media_id], sign=False)

    expect_error(response, 401)


def test_a_local_user_downloads_media_hosted_on_another_server(hs, fake_homeserver):
    """Media named by another server's mxc:// URI is fetched from that server and served.

    Spec: server-server-api/#content-repository — servers MUST download remote media
    from the server named in the URI, with the federation download endpoint; and
    client-server-api/#get_matrixclientv1mediadownloadservernamemediaid — the type the
    media was uploaded with, and its remote file name.
    """
    data = secrets.token_bytes(300)
    peer = fake_homeserver(handle_keys(), handle_media({
        "peerPicture": PeerMedia(data, "image/gif", filename="cat.gif")}))
    alice = hs.register()
    uri = f"mxc://{peer.server_name}/peerPicture"

    response = download(alice, uri)

    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"].split(";")[0] == "image/gif"
    assert disposition(response)[1] == "cat.gif", response.headers.get("content-disposition")
    assert any("/media/download/peerPicture" in target
               for target in peer.requests_to("GET", "media")), peer.requests


def test_remote_media_the_other_server_lacks_is_not_found(hs, fake_homeserver):
    """When the media's server answers 404, the client gets 404 M_NOT_FOUND.

    Spec: client-server-api/#content-repository — unknown media is `M_NOT_FOUND`.
    """
    peer = fake_homeserver(handle_keys(), handle_media({}))
    alice = hs.register()

    response = download(alice, f"mxc://{peer.server_name}/absentMedia")

    expect_error(response, 404, "M_NOT_FOUND")


def test_media_of_a_server_without_federation_media_comes_from_the_old_endpoint(
        hs, fake_homeserver):
    """When the media's server answers the federation download with 404 M_UNRECOGNIZED,
    the target falls back to the deprecated download, with `allow_remote=false`.

    Spec: server-server-api/#content-repository — servers MUST try the federation
    endpoints first and fall back to `/_matrix/media/*` only on 404 M_UNRECOGNIZED,
    setting `allow_remote` to `false` when they do.
    """
    data = secrets.token_bytes(128)
    peer = fake_homeserver(handle_keys(), handle_media(
        {"oldServerMedia": PeerMedia(data, "audio/ogg")}, federation_endpoint=False))
    alice = hs.register()

    response = download(alice, f"mxc://{peer.server_name}/oldServerMedia")

    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"].split(";")[0] == "audio/ogg"


def test_a_peer_downloads_a_thumbnail_of_local_media(hs, federation):
    """A signed thumbnail request answers multipart/mixed with an image no smaller than
    asked (the original allowing) and no larger than the original.

    Spec: server-server-api/#get_matrixfederationv1mediathumbnailmediaid — the same
    two-part answer as the download; client-server-api/#thumbnails for the sizes.
    """
    alice = hs.register()
    _, media_id = parse_mxc(upload(alice, png(300, 150), "image/png"))

    response = federation.do("GET", ["media", "thumbnail", media_id],
                             params={"width": 32, "height": 32, "method": "crop"})

    assert response.status_code == 200, response.text
    parts = decode_multipart(response.headers["content-type"], response.content)
    assert len(parts) == 2 and isinstance(json.loads(parts[0].body), dict), parts
    if "location" not in parts[1].headers:
        width, height = image_size(parts[1].body)
        assert 32 <= width <= 300 and 32 <= height <= 150, (width, height)


def test_remote_media_behind_a_location_is_fetched_from_there(hs, fake_homeserver):
    """When the media's server answers with a `Location` in place of the bytes, the
    target fetches the bytes from that URL and serves them.

    Spec: server-server-api/#get_matrixfederationv1mediadownloadmediaid — the second part
    is either the bytes or a `Location` header to fetch them from (a URL that may expire
    and should not be cached).
    """
    data = secrets.token_bytes(200)
    peer = fake_homeserver(handle_keys(), handle_media(
        {"cdnMedia": PeerMedia(data, "video/mp4", filename="clip.mp4")}, redirect=True))
    alice = hs.register()

    response = download(alice, f"mxc://{peer.server_name}/cdnMedia")

    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"].split(";")[0] == "video/mp4"
