# SPDX-License-Identifier: Apache-2.0
"""The content repository: upload, authenticated download, configuration.

Spec: client-server-api/#content-repository (v1.11 authenticated media).
"""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness.assertions import expect_error, expect_ok
from tests.harness.media import CLIENT_V1, MEDIA_V1, MEDIA_V3, disposition, download, \
    image_size, parse_mxc, png, thumbnail, upload

# Small enough that the test may send a file just over the limit.
LARGEST_LIMIT_TESTED = 16 * 1024 * 1024


def _payload() -> bytes:
    return b"\x00\xffbinary\r\n\r\n--not-a-boundary" + secrets.token_bytes(64)


def test_upload_then_download_gives_back_the_same_bytes_and_type(hs):
    """What a user uploads downloads byte for byte, with the type it was uploaded as.

    Spec: client-server-api/#post_matrixmediav3upload (answers the `content_uri`),
    #get_matrixclientv1mediadownloadservernamemediaid — the server MUST return a
    Content-Type that is the upload's (or reasonably close).
    """
    alice = hs.register()
    data = _payload()
    uri = upload(alice, data, "application/x-conformance")

    response = download(alice, uri)

    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"].split(";")[0] == "application/x-conformance"


def test_the_content_uri_names_the_uploading_server(hs):
    """The answer's `mxc://` URI has the server's name as authority and a URL-safe ID.

    Spec: client-server-api/#matrix-content-mxc-uris — `mxc://<server-name>/<media-id>`,
    the media ID made of `A-Z a-z 0-9 _ -`.
    """
    alice = hs.register()
    server, _ = parse_mxc(upload(alice, b"hello", "text/plain"))
    assert server == alice.user_id.split(":", 1)[1]


def test_another_user_downloads_the_media(hs):
    """Media is not private to its uploader: any user of the server can download it.

    Spec: client-server-api/#get_matrixclientv1mediadownloadservernamemediaid.
    """
    alice, bob = hs.register(), hs.register()
    uri = upload(alice, b"shared bytes", "text/plain")

    response = download(bob, uri)

    assert response.status_code == 200 and response.content == b"shared bytes"


@pytest.mark.parametrize("content_type, expected", [
    pytest.param("image/png", "inline", id="safe-type-inline"),
    pytest.param("text/html", "attachment", id="html-attachment"),
    pytest.param("application/javascript", "attachment", id="script-attachment"),
])
def test_content_disposition_is_inline_only_for_safe_types(hs, content_type, expected):
    """Content-Disposition carries the upload's filename; `inline` only for safe types.

    Spec: #get_matrixclientv1mediadownloadservernamemediaid — Content-Disposition is
    required, MUST be `inline` or `attachment`, MUST contain the upload's `filename`;
    and client-server-api/#serving-inline-content — servers SHOULD only serve the listed
    types inline (the test holds a server to `attachment` for types off the list, which
    is where the risk lies; `inline` for a listed type is what the spec recommends).
    """
    alice = hs.register()
    uri = upload(alice, b"<script>alert(1)</script>", content_type, filename="page.bin")

    response = download(alice, uri)

    assert response.status_code == 200, response.text
    kind, name = disposition(response)
    assert name == "page.bin", response.headers.get("content-disposition")
    if expected == "attachment":
        assert kind == "attachment", response.headers.get("content-disposition")
    else:
        assert kind in ("inline", "attachment"), response.headers.get("content-disposition")


def test_download_without_filename_gives_none(hs):
    """Media uploaded without a filename downloads with no filename in Content-Disposition.

    Spec: #get_matrixclientv1mediadownloadservernamemediaid — otherwise `filename` is
    excluded from the header.
    """
    alice = hs.register()
    response = download(alice, upload(alice, b"nameless", "text/plain"))
    assert response.status_code == 200
    assert disposition(response)[1] is None, response.headers.get("content-disposition")


def test_download_under_another_name_uses_that_name(hs):
    """The `{fileName}` download names the file as the caller asks, non-ASCII too.

    Spec: #get_matrixclientv1mediadownloadservernamemediaidfilename — replaces the file
    name with the one provided by the caller.
    """
    alice = hs.register()
    data = _payload()
    uri = upload(alice, data, "application/octet-stream", filename="original.bin")

    response = download(alice, uri, file_name="résumé final.bin")

    assert response.status_code == 200 and response.content == data
    assert disposition(response) == ("attachment", "résumé final.bin"), \
        response.headers.get("content-disposition")


def test_config_reports_a_positive_upload_limit(hs):
    """The configuration, when it states `m.upload.size`, states a positive number of bytes.

    Spec: client-server-api/#get_matrixclientv1mediaconfig (all fields optional).
    """
    alice = hs.register()
    config = expect_ok(alice.do("GET", ["media", "config"], prefix=CLIENT_V1), "media config")
    if "m.upload.size" in config:
        assert config["m.upload.size"] > 0, config


def test_unknown_media_is_not_found(hs):
    """Downloading a media ID the server never issued answers 404 M_NOT_FOUND.

    Spec: client-server-api/#content-repository — unknown media is `M_NOT_FOUND` (404).
    """
    alice = hs.register()
    server = alice.user_id.split(":", 1)[1]
    response = download(alice, f"mxc://{server}/neverUploaded{secrets.token_hex(6)}")
    expect_error(response, 404, "M_NOT_FOUND")


@pytest.mark.parametrize("path", [
    pytest.param(["media", "config"], id="config"),
    pytest.param(["media", "download", "example.org", "someMedia"], id="download"),
    pytest.param(["media", "download", "example.org", "someMedia", "x.txt"], id="named"),
])
def test_authenticated_media_endpoints_need_a_token(hs, path):
    """The v1.11 media endpoints refuse a request with no access token: 401 M_MISSING_TOKEN.

    Spec: client-server-api/#content-repository — the authenticated endpoints require
    an access token (`accessTokenBearer`); client-server-api/#using-access-tokens.
    """
    anonymous = hs.client()
    expect_error(anonymous.do("GET", path, prefix=CLIENT_V1, auth=False), 401,
                 "M_MISSING_TOKEN")


def test_upload_needs_a_token(hs):
    """An upload without an access token is refused with 401 M_MISSING_TOKEN.

    Spec: client-server-api/#post_matrixmediav3upload (requires authentication).
    """
    response = hs.client().do("POST", ["upload"], prefix=MEDIA_V3, content=b"x",
                              headers={"Content-Type": "text/plain"}, auth=False)
    expect_error(response, 401, "M_MISSING_TOKEN")


def test_upload_larger_than_the_limit_is_refused(hs):
    """A file larger than `m.upload.size` is refused with 413 M_TOO_LARGE.

    Spec: client-server-api/#post_matrixmediav3upload — 413 M_TOO_LARGE when the content
    is too large for the server; the limit is the one the config endpoint states.
    """
    alice = hs.register()
    config = expect_ok(alice.do("GET", ["media", "config"], prefix=CLIENT_V1), "media config")
    limit = config.get("m.upload.size")
    if not isinstance(limit, int) or limit > LARGEST_LIMIT_TESTED:
        pytest.skip(f"the server states no upload limit at most {LARGEST_LIMIT_TESTED} bytes "
                    f"(m.upload.size = {limit!r}); sending that much is not a fair test")
    response = alice.do("POST", ["upload"], prefix=MEDIA_V3, content=b"\0" * (limit + 1),
                        headers={"Content-Type": "application/octet-stream"})
    expect_error(response, 413, "M_TOO_LARGE")


def _create(client) -> dict:
    return expect_ok(client.do("POST", ["create"], prefix=MEDIA_V1, json={}),
                     "create a media ID")


def _upload_to(client, uri: str, data: bytes, content_type: str = "text/plain"):
    server, media_id = parse_mxc(uri)
    return client.do("PUT", ["upload", server, media_id], prefix=MEDIA_V3, content=data,
                     headers={"Content-Type": content_type})


def test_created_uri_takes_its_content_later(hs):
    """A URI from `POST /create` answers an `mxc://` URI of the server; content sent to
    it with `PUT /upload/{serverName}/{mediaId}` downloads from it.

    Spec: client-server-api/#post_matrixmediav1create,
    #put_matrixmediav3uploadservernamemediaid.
    """
    alice = hs.register()
    created = _create(alice)
    uri = created["content_uri"]
    assert parse_mxc(uri)[0] == alice.user_id.split(":", 1)[1]

    expect_ok(_upload_to(alice, uri, b"later bytes", "text/csv"), "upload to the URI")

    response = download(alice, uri)
    assert response.status_code == 200 and response.content == b"later bytes"
    assert response.headers["content-type"].split(";")[0] == "text/csv"


def test_a_created_uri_cannot_be_overwritten(hs):
    """A second upload to a URI that has content is refused: 409 M_CANNOT_OVERWRITE_MEDIA.

    Spec: #put_matrixmediav3uploadservernamemediaid — 409 when the media ID already has
    content.
    """
    alice = hs.register()
    uri = _create(alice)["content_uri"]
    expect_ok(_upload_to(alice, uri, b"first"), "first upload")

    expect_error(_upload_to(alice, uri, b"second"), 409, "M_CANNOT_OVERWRITE_MEDIA")
    assert download(alice, uri).content == b"first"


def test_only_the_creator_uploads_to_a_created_uri(hs):
    """Another user's upload to a created URI is refused with 403 M_FORBIDDEN.

    Spec: #put_matrixmediav3uploadservernamemediaid — 403 when the request comes from a
    different user than the one that created the URI.
    """
    alice, mallory = hs.register(), hs.register()
    uri = _create(alice)["content_uri"]

    expect_error(_upload_to(mallory, uri, b"not yours"), 403, "M_FORBIDDEN")


def test_uploading_to_a_uri_never_created_is_not_found(hs):
    """An upload to a media ID that `POST /create` never answered is 404 M_NOT_FOUND.

    Spec: #put_matrixmediav3uploadservernamemediaid — 404 when the MXC ID was not created
    with POST /_matrix/media/v1/create.
    """
    alice = hs.register()
    server = alice.user_id.split(":", 1)[1]
    uri = f"mxc://{server}/neverCreated{secrets.token_hex(6)}"
    expect_error(_upload_to(alice, uri, b"x"), 404, "M_NOT_FOUND")


def test_download_before_the_upload_times_out_as_not_yet_uploaded(hs):
    """A created URI without content answers 504 M_NOT_YET_UPLOADED once the download's
    `timeout_ms` has passed.

    Spec: #get_matrixclientv1mediadownloadservernamemediaid — 504 M_NOT_YET_UPLOADED
    when the content is not yet available.
    """
    alice = hs.register()
    server, media_id = parse_mxc(_create(alice)["content_uri"])

    response = alice.do("GET", ["media", "download", server, media_id], prefix=CLIENT_V1,
                        params={"timeout_ms": 200})

    expect_error(response, 504, "M_NOT_YET_UPLOADED")


def test_a_waiting_download_gets_the_content_when_it_arrives(hs):
    """A download waiting on a created URI answers the content once it is uploaded.

    Spec: #get_matrixclientv1mediadownloadservernamemediaid — `timeout_ms` is how long
    the client will wait for content not yet uploaded.
    """
    alice = hs.register()
    uri = _create(alice)["content_uri"]
    server, media_id = parse_mxc(uri)
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(alice.new_device().do, "GET",
                              ["media", "download", server, media_id], prefix=CLIENT_V1,
                              params={"timeout_ms": 20000})
        expect_ok(_upload_to(alice, uri, b"worth the wait"), "upload to the URI")
        response = waiting.result()

    assert response.status_code == 200, response.text
    assert response.content == b"worth the wait"


THUMBNAIL_TYPES = ("image/jpeg", "image/png", "image/apng", "image/gif", "image/webp")


def _thumbnail_of(alice, uri: str, width: int, height: int, method: str):
    response = thumbnail(alice, uri, width, height, method)
    assert response.status_code == 200, response.text
    kind = response.headers.get("content-type", "").split(";")[0]
    assert kind in THUMBNAIL_TYPES, f"thumbnail served as {kind!r}"
    return image_size(response.content)


def test_a_cropped_thumbnail_has_the_asked_shape_and_at_least_the_asked_size(hs):
    """`crop` answers an image of the asked aspect ratio, no smaller than asked and no
    larger than the original.

    Spec: client-server-api/#thumbnails — crop gives the aspect ratio of the requested
    size; servers MUST NOT return a smaller thumbnail than requested (the original
    allowing) and MUST NOT upscale.
    """
    alice = hs.register()
    uri = upload(alice, png(400, 200), "image/png")

    width, height = _thumbnail_of(alice, uri, 96, 96, "crop")

    assert 96 <= width <= 400 and 96 <= height <= 200, (width, height)
    assert abs(width - height) <= 1, f"not square: {width}x{height}"


def test_a_scaled_thumbnail_keeps_the_aspect_ratio(hs):
    """`scale` keeps the original's aspect ratio, and is no smaller than asked.

    Spec: client-server-api/#thumbnails — scale maintains the aspect ratio; the server
    returns an image larger than or equal to the requested dimensions where possible,
    and MUST NOT upscale.
    """
    alice = hs.register()
    uri = upload(alice, png(400, 200), "image/png")

    width, height = _thumbnail_of(alice, uri, 64, 64, "scale")

    assert width <= 400 and height <= 200, (width, height)
    assert width >= 64 and height >= 64, f"smaller than asked: {width}x{height}"
    assert abs(width / height - 2) < 0.05, f"aspect ratio lost: {width}x{height}"


def test_an_image_smaller_than_asked_is_not_upscaled(hs):
    """A thumbnail bigger than the image itself answers the image's own size.

    Spec: client-server-api/#thumbnails — servers MUST NOT upscale thumbnails under any
    circumstance; the original should be returned when it is smaller than asked.
    """
    alice = hs.register()
    uri = upload(alice, png(20, 12), "image/png")

    assert _thumbnail_of(alice, uri, 96, 96, "scale") == (20, 12)


def test_no_thumbnail_of_what_is_not_an_image(hs):
    """A thumbnail of text is refused with 400.

    Spec: #get_matrixclientv1mediathumbnailservernamemediaid — 400 when the server cannot
    make a thumbnail of the content.
    """
    alice = hs.register()
    uri = upload(alice, b"just words", "text/plain")
    expect_error(thumbnail(alice, uri, 32, 32, "crop"), 400)


def test_thumbnail_of_unknown_media_is_not_found(hs):
    """A thumbnail of a media ID never issued answers 404 M_NOT_FOUND.

    Spec: client-server-api/#content-repository — unknown media is `M_NOT_FOUND`.
    """
    alice = hs.register()
    server = alice.user_id.split(":", 1)[1]
    uri = f"mxc://{server}/neverUploaded{secrets.token_hex(6)}"
    expect_error(thumbnail(alice, uri, 32, 32, "crop"), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("server, media_id", [
    pytest.param("{own}", "..", id="dot-dot-id"),
    pytest.param("{own}", "a.b", id="dot-in-id"),
    pytest.param("bad server!", "someMedia", id="bad-server-name"),
])
def test_malformed_mxc_parts_are_refused(hs, server, media_id):
    """A download naming a media ID outside `A-Za-z0-9_-` or an invalid server name is
    refused (400, or 404 as no such media can exist), never served.

    Spec: client-server-api/#content-repo-security-considerations — homeservers MUST
    restrict the server name to valid server names and the media ID to `A-Za-z0-9_-`.
    """
    alice = hs.register()
    server = server.replace("{own}", alice.user_id.split(":", 1)[1])
    response = alice.do("GET", ["media", "download", server, media_id], prefix=CLIENT_V1)
    assert response.status_code in (400, 404), response.text
    expect_error(response, response.status_code)
