# SPDX-License-Identifier: Apache-2.0
"""content_repository.yaml (server-server): other servers download our users' media."""
from __future__ import annotations

from ...http.request import Request, Response
from ...protocol import multipart
from ...services.media import Media, MediaRepository, disposition


class FederationMediaHandlers:
    def __init__(self, *, media: MediaRepository) -> None:
        self._media = media

    async def get_content(self, request: Request) -> Response:
        media = await self._media.local(request.path["mediaId"],
                                        request.query.get("timeout_ms", 20_000))
        return _two_parts(media)

    async def get_content_thumbnail(self, request: Request) -> Response:
        query = request.query
        media = await self._media.thumbnail(
            self._media.server_name, request.path["mediaId"], query["width"],
            query["height"], query.get("method", "scale"), query.get("timeout_ms", 20_000))
        return _two_parts(media)


def _two_parts(media: Media) -> Response:
    """The federation answer: the metadata (`{}` for now), then the bytes with their headers."""
    content_type, body = multipart.encode([
        multipart.Part({"Content-Type": "application/json"}, b"{}"),
        multipart.Part({"Content-Type": media.content_type,
                        "Content-Disposition": disposition(media.content_type,
                                                           media.upload_name)},
                       media.data),
    ])
    return Response(body, headers={"Content-Type": content_type})
