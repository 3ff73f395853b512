"""What a render answers with."""

from __future__ import annotations

from dataclasses import dataclass

from engine.assets.service import Content


@dataclass
class RenderResult:
    """A stored derivative, ready to stream with ``engine.assets.stream(result.content)``."""

    content: Content  # blob key, size, content type; ``content.sha256`` holds the derivative key (the ETag)
    format: str
    width: int | None
    height: int | None
    download_name: str  # generated from the original name and the output format
    cached: bool  # True when no render ran for this request
    negotiated: bool  # format=auto: the answer depends on Accept (send Vary: Accept)
    derivative_id: str | None = None  # the stored row's id; None while the derivative is on its way to the store

    @property
    def etag(self) -> str:
        return f'"{self.content.sha256}"'
