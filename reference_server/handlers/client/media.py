# SPDX-License-Identifier: Apache-2.0
"""content-repo.yaml and authed-content-repo.yaml (client-server): upload and download."""
from __future__ import annotations

from ...http.request import Request, Response
from ...services.media import MediaRepository, download_headers
from ...types import JsonDict


class MediaHandlers:
    def __init__(self, *, media: MediaRepository) -> None:
        self._media = media

    async def upload_content(self, request: Request) -> JsonDict:
        uri = self._media.upload(request.user.user_id, request.raw_body,
                                 request.headers.get("content-type"),
                                 request.query.get("filename"))
        return {"content_uri": uri}

    async def create_content(self, request: Request) -> JsonDict:
        return self._media.create(request.user.user_id)

    async def upload_content_to_mxc(self, request: Request) -> JsonDict:
        self._media.upload_to(request.user.user_id, request.path["serverName"],
                              request.path["mediaId"], request.raw_body,
                              request.headers.get("content-type"),
                              request.query.get("filename"))
        return {}

    async def get_config_authed(self, request: Request) -> JsonDict:
        return {"m.upload.size": self._media.max_upload_bytes}

    async def get_content_authed(self, request: Request) -> Response:
        media = await self._media.download(request.path["serverName"], request.path["mediaId"],
                                           request.query.get("timeout_ms", 20_000))
        return Response(media.data, headers=download_headers(media, media.upload_name))

    async def get_content_override_name_authed(self, request: Request) -> Response:
        media = await self._media.download(request.path["serverName"], request.path["mediaId"],
                                           request.query.get("timeout_ms", 20_000))
        return Response(media.data, headers=download_headers(media, request.path["fileName"]))

    async def get_content_thumbnail_authed(self, request: Request) -> Response:
        query = request.query
        media = await self._media.thumbnail(
            request.path["serverName"], request.path["mediaId"], query["width"],
            query["height"], query.get("method", "scale"), query.get("timeout_ms", 20_000))
        return Response(media.data, headers=download_headers(media, None))
