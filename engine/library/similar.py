"""Finding assets by what the analyses stored: near-duplicates by perceptual hash (``ai.phash``, 64 bits) and
colour by palette (``ai.colors``, engine.enrich.colors). Both read the stored values; nothing is decoded."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from engine.assets.links import AssetLinks
from engine.assets.service import THUMBNAIL_KIND, not_found
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.errors import InvalidInput
from engine.library.models import SimilarAsset, SimilarBy, SimilarList

LIVE = tables.assets.c.trashed_at.is_(None)
MAX_MATCHES = 10_000  # the most ids a colour filter hands the list query


def hamming(one: str, other: str) -> int:
    return (int(one, 16) ^ int(other, 16)).bit_count()


def _lab(hex_colour: str) -> tuple[float, float, float]:
    """sRGB hex to CIE L*a*b* (D65), where distances match what people see."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def colour_distance(one: str, other: str) -> float:
    """CIE76 delta E between two hex colours."""
    return math.dist(_lab(one), _lab(other))


def _palette(ai: Any) -> list[str]:
    colours = ai.get("colors") if isinstance(ai, dict) else None
    return [c["hex"] for c in colours or [] if isinstance(c, dict) and isinstance(c.get("hex"), str)
            and len(c["hex"]) == 7]


class Similar:
    def __init__(self, catalog: Catalog, links: AssetLinks):
        self.catalog = catalog
        self.links = links

    async def _hashes(self, account_id: str) -> list[tuple[str, str, Any, bool]]:
        """(id, filename, ai, has thumbnail) of the account's live assets with analyses."""
        a, d = tables.assets, tables.derivatives
        thumb = sa.exists().where(d.c.asset_id == a.c.id, d.c.kind == THUMBNAIL_KIND)
        query = sa.select(a.c.id, a.c.filename, a.c.ai, thumb.label("thumb")).where(a.c.account_id == account_id, LIVE)
        rows = await self.catalog.read(lambda conn: conn.execute(query).all())
        return [(row.id, row.filename, row.ai, bool(row.thumb)) for row in rows]

    async def similar(self, principal: Principal, asset_id: str, *, by: SimilarBy = SimilarBy.PHASH,
                      max_distance: int = 10, limit: int = 50) -> SimilarList:
        """The caller's other live assets whose perceptual hash is within ``max_distance`` bits, nearest first."""
        rows = await self._hashes(principal.account_id)
        mine = next((row for row in rows if row[0] == asset_id), None)
        if mine is None:
            raise not_found(asset_id)
        target = (mine[2] or {}).get("phash")
        if not isinstance(target, str):
            raise InvalidInput(f"Asset {asset_id!r} has no perceptual hash: only analysed images have one "
                               "(config.auto_tag).", code="asset_not_hashed", id=asset_id)
        found = []
        for other_id, filename, ai, thumb in rows:
            other = (ai or {}).get("phash") if isinstance(ai, dict) else None
            if other_id == asset_id or not isinstance(other, str):
                continue
            distance = hamming(target, other)
            if distance <= max_distance:
                url = self.links.for_asset(other_id, has_thumbnail=thumb).thumbnail
                found.append(SimilarAsset(id=other_id, distance=distance, filename=filename, thumbnail=url))
        found.sort(key=lambda item: (item.distance, item.id))
        return SimilarList(asset_id=asset_id, by=by, items=found[:limit])

    async def duplicate_groups(self, principal: Principal, *, max_distance: int = 4,
                               limit: int = 50) -> list[list[str]]:
        """Groups of the caller's assets that look alike (each pair within ``max_distance`` of the group's first)."""
        hashed = [(i, ai["phash"]) for i, _f, ai, _t in await self._hashes(principal.account_id)
                  if isinstance(ai, dict) and isinstance(ai.get("phash"), str)]
        hashed.sort()
        groups: list[list[str]] = []
        taken: set[str] = set()
        for n, (first, phash) in enumerate(hashed):
            if first in taken:
                continue
            group = [first] + [other for other, h in hashed[n + 1:]
                               if other not in taken and hamming(phash, h) <= max_distance]
            if len(group) > 1:
                taken.update(group)
                groups.append(group)
                if len(groups) >= limit:
                    break
        return groups

    async def with_colour(self, account_id: str, colour: str, distance: float,
                          among: Iterable[str] | None = None) -> list[str]:
        """Ids of the account's live assets with a palette colour within ``distance`` of ``colour``."""
        wanted = _lab(colour)
        allowed = set(among) if among is not None else None
        found = []
        for asset_id, _filename, ai, _thumb in await self._hashes(account_id):
            if allowed is not None and asset_id not in allowed:
                continue
            if any(math.dist(wanted, _lab(hex_colour)) <= distance for hex_colour in _palette(ai)):
                found.append(asset_id)
                if len(found) >= MAX_MATCHES:
                    break
        return found
