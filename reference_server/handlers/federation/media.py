# SPDX-License-Identifier: Apache-2.0
"""content_repository.yaml (server-server): other servers download our users' media."""
from __future__ import annotations

from ...http.request import Request, Response
from ...protocol import multipart
from ...services.media import MediaRepository, disposition


class FederationMediaHandlers:
    def __init__(self, *, media: MediaRepository) -> None:
        self._media = media

    async def get_content(self, request: Request) -> Response:
        """Two parts: the metadata (`{}` for now), then the bytes with their headers."""
        media = await self._media.local(request.path["mediaId"],
                                        request.query.get("timeout_ms", 20_000))
        content_type, body = multipart.encode([
            multipart.Part({"Content-Type": "application/json"}, b"{}"),
            multipart.Part({"Content-Type": media.content_type,
                            "Content-Disposition": disposition(media.content_type,
                                                               media.upload_name)},
                           media.data),
        ])
        return Response(body, headers={"Content-Type": content_type})
