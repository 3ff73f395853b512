"""The signed links an asset answer carries (original bytes, thumbnail, PDF view), and who can open them."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from urllib.parse import urlsplit

from engine.assets.models import AssetUrls
from engine.auth.signing import UrlSigner

# The routes signed links name: whatever serves links (``picsha serve``, the listener of ``picsha mcp``) must
# serve exactly these. ``{asset_id}`` is the route's path parameter.
CONTENT_ROUTE = "/v1/assets/{asset_id}/content"
RENDER_ROUTE = "/v1/assets/{asset_id}/render"
PDF_VIEW_ROUTE = "/v1/assets/{asset_id}/pdf"
SIGNED_ROUTES = (CONTENT_ROUTE, RENDER_ROUTE, PDF_VIEW_ROUTE)


class Reach(StrEnum):
    """Who can open the links: results say so when it is less than whoever can reach the base URL."""

    PUBLIC = "public"  # the base names a host other machines may reach (the network decides)
    THIS_MACHINE = "this_machine"  # a loopback base: only programs on this machine
    THIS_SESSION = "this_session"  # the listener of this process (``picsha mcp``): this machine, until it exits


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a DNS name: assume others can resolve it too
        return False


class AssetLinks:
    def __init__(self, signer: UrlSigner, public_url: str, *, thumbnail_query: Mapping[str, str] | None = None):
        self.signer = signer
        self._base = public_url.rstrip("/")
        self._session_listener = False
        self._start: Callable[[], str] | None = None
        self._starting = threading.Lock()  # links may be made off the event loop (threads): one start only
        # The render parameters of the ingest preview (normalised), so the link hits its cached derivative.
        self.thumbnail_query = dict(thumbnail_query or {})

    # -- where links point ---------------------------------------------------------------------

    def serve_from(self, start: Callable[[], str]) -> None:
        """Point links at a listener of this process, opened by ``start`` (which returns its base URL) when
        the first link is made: a session that never hands out a link never opens a port."""
        with self._starting:
            self._start = start
            self._session_listener = True

    @property
    def base(self) -> str:
        if self._start is not None:
            with self._starting:
                if self._start is not None:
                    self._base = self._start().rstrip("/")
                    self._start = None
        return self._base

    def reach(self) -> Reach:
        """Who can open the links made here; a pending listener counts as started (it starts with a link)."""
        if self._session_listener:
            return Reach.THIS_SESSION
        return Reach.THIS_MACHINE if is_loopback_url(self._base) else Reach.PUBLIC

    def note_for(self, text: str) -> Reach | None:
        """The reach to state beside an answer (serialised as ``text``): None when it carries none of these
        links, or when they are public (nothing worth a token to say)."""
        reach = self.reach()
        if reach is Reach.PUBLIC or self._start is not None:  # not started: no link was made yet
            return None
        return reach if f"{self._base}/v1/" in text else None

    # -- making links --------------------------------------------------------------------------

    def signed(self, path: str, params: Mapping[str, str] | None = None, *, ttl_s: int | None = None) -> str:
        return self.base + self.signer.sign(path, params, ttl_s=ttl_s)

    def content(self, asset_id: str) -> str:
        return self.signed(CONTENT_ROUTE.format(asset_id=asset_id))

    def render(self, asset_id: str, query: Mapping[str, str], *, ttl_s: int | None = None) -> str:
        """A signed render URL for these (normalised) render parameters."""
        return self.signed(RENDER_ROUTE.format(asset_id=asset_id), query, ttl_s=ttl_s)

    def thumbnail(self, asset_id: str) -> str:
        """A signed render URL of the preview made at ingest."""
        return self.render(asset_id, self.thumbnail_query)

    def for_asset(self, asset_id: str, *, has_thumbnail: bool, has_pdf_view: bool = False) -> AssetUrls:
        return AssetUrls(
            original=self.content(asset_id),
            thumbnail=self.thumbnail(asset_id) if has_thumbnail else None,
            pdf_view=self.signed(PDF_VIEW_ROUTE.format(asset_id=asset_id)) if has_pdf_view else None,
        )
