"""Share links: a public page (and a ZIP) of one asset or a collection, for anyone holding the link.

The link's token is the share's id sealed with the URL-signing keys (unguessable, checkable without a
lookup, shown again in the list). The share row decides the rest at every request: deleting it revokes the
link at once, ``expires_at`` ends it. An optional password is kept as an argon2 hash; a right password earns
a sealed cookie for that share that lasts a day. Trashed assets never show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import anyio
import sqlalchemy as sa
from pwdlib import PasswordHash

from engine.assets.links import AssetLinks
from engine.assets.models import Asset
from engine.assets.service import AssetService
from engine.auth.keys import Principal
from engine.auth.signing import UrlSigner
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import Forbidden, NotFound
from engine.ids import IdPrefix, new_id
from engine.library.collections import Collections
from engine.library.models import Share, ShareCreate, ShareList, ShareTarget
from engine.render.params import RenderParams

LARGE = RenderParams(w=1600)
UNLOCK_S = 86_400
PAGE_URL_TTL_S = 3_600  # render links on the page: short, so a revoked share stops serving soon after
HASHER = PasswordHash.recommended()  # argon2id
SLOW_CHECKS = anyio.CapacityLimiter(2)  # argon2 takes memory and time: a flood of guesses waits in line


def share_not_found() -> NotFound:
    return NotFound("This share link does not exist, was revoked, or has expired.", code="share_not_found")


@dataclass
class SharedView:
    share: Share
    title: str
    assets: list[Asset]
    owner: Principal  # whose assets these are (for the ZIP)


class Shares:
    def __init__(self, *, catalog: Catalog, assets: AssetService, collections: Collections, signer: UrlSigner,
                 links: AssetLinks, public_url: str):
        self.catalog = catalog
        self.assets = assets
        self.collections = collections
        self.signer = signer
        self.links = links
        self.public_url = public_url.rstrip("/")

    def _model(self, row: sa.Row) -> Share:
        token = self.signer.seal(row.id)
        return Share(id=row.id, target_type=ShareTarget(row.target_type), target_id=row.target_id,
                     url=f"{self.public_url}/s/{token}", expires_at=utc(row.expires_at),
                     has_password=row.password_hash is not None, created_at=utc(row.created_at))

    async def create(self, principal: Principal, given: ShareCreate) -> Share:
        if given.target_type is ShareTarget.ASSET:
            await self.assets.get(principal, given.target_id)  # 404 unless a live asset of the caller
        else:
            await self.collections.get(principal, given.target_id)
        password_hash = None
        if given.password is not None:
            password = given.password
            async with SLOW_CHECKS:
                password_hash = await anyio.to_thread.run_sync(lambda: HASHER.hash(password))
        stamp = now()
        expires = stamp + timedelta(days=given.expires_in_days) if given.expires_in_days else None
        share_id = new_id(IdPrefix.SHARE, 20)
        async with self.catalog.begin() as conn:
            await conn.execute(tables.shares.insert().values(
                id=share_id, account_id=principal.account_id, target_type=given.target_type.value,
                target_id=given.target_id, password_hash=password_hash, expires_at=expires, created_at=stamp))
            row = (await conn.execute(sa.select(tables.shares).where(tables.shares.c.id == share_id))).one()
        return self._model(row)

    async def list(self, principal: Principal) -> ShareList:
        s = tables.shares
        query = sa.select(s).where(s.c.account_id == principal.account_id).order_by(s.c.created_at.desc(), s.c.id)
        rows = await self.catalog.read(lambda conn: conn.execute(query).all())
        return ShareList(items=[self._model(row) for row in rows])

    async def delete(self, principal: Principal, share_id: str) -> None:
        s = tables.shares
        async with self.catalog.begin() as conn:
            gone = await conn.execute(s.delete().where(s.c.id == share_id, s.c.account_id == principal.account_id))
        if not gone.rowcount:
            raise NotFound(f"No share {share_id!r} in this account (GET /v1/shares lists them).",
                           code="share_not_found", id=share_id)

    # -- the public side ---------------------------------------------------------------------------------

    async def _open(self, token: str) -> sa.Row:
        share_id = self.signer.unseal(token)
        if share_id is None:
            raise share_not_found()
        s = tables.shares
        row = await self.catalog.read(lambda conn: conn.execute(sa.select(s).where(s.c.id == share_id)).first())
        if row is None or (row.expires_at is not None and utc(row.expires_at) <= now()):
            raise share_not_found()
        return row

    async def needs_password(self, token: str, cookie: str | None) -> bool:
        """Whether the page must ask for the password first (404 for a link that is not live)."""
        row = await self._open(token)
        return row.password_hash is not None and not self._unlocked(row.id, cookie)

    async def unlock(self, token: str, password: str) -> str:
        """The cookie value a right password earns (``Forbidden`` for a wrong one)."""
        row = await self._open(token)
        if row.password_hash is None:
            return ""
        async with SLOW_CHECKS:  # argon2's verify compares in constant time
            right = await anyio.to_thread.run_sync(lambda: HASHER.verify(password[:200], row.password_hash))
        if not right:
            raise Forbidden("That password is not right.", code="share_password_wrong")
        return self.signer.seal(f"{row.id}.{int(time.time()) + UNLOCK_S}")

    def _unlocked(self, share_id: str, cookie: str | None) -> bool:
        value = self.signer.unseal(cookie) if cookie else None
        if value is None:
            return False
        named, _, until = value.rpartition(".")
        return named == share_id and until.isdigit() and int(until) > time.time()

    async def view(self, token: str, cookie: str | None) -> SharedView:
        """What the link shows (``Forbidden`` while it is locked)."""
        row = await self._open(token)
        if row.password_hash is not None and not self._unlocked(row.id, cookie):
            raise Forbidden("This share link needs its password.", code="share_password_required")
        owner = Principal(account_id=row.account_id)
        try:
            if row.target_type == ShareTarget.ASSET.value:
                asset = await self.assets.get(owner, row.target_id)
                return SharedView(share=self._model(row), title=asset.filename, assets=[asset], owner=owner)
            collection = await self.collections.get(owner, row.target_id)
        except NotFound:
            raise share_not_found() from None  # its asset or collection went (purged, trashed, deleted)
        assets = await self.assets.get_many(owner, collection.asset_ids)
        return SharedView(share=self._model(row), title=collection.name, assets=assets, owner=owner)

    def picture_urls(self, asset: Asset) -> tuple[str | None, str]:
        """A short-lived thumbnail URL (none when it has no preview) and a large view's URL."""
        thumb = self.links.render(asset.id, self.links.thumbnail_query, ttl_s=PAGE_URL_TTL_S) \
            if asset.urls.thumbnail else None
        return thumb, self.links.render(asset.id, LARGE.to_query(), ttl_s=PAGE_URL_TTL_S)
