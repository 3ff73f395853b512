"""Account settings: stored in the catalog, read through a short per-process cache (no catalog read per
request), changed by an account's admins."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from engine.account_settings.models import AccountSettings, SettingKey, checked, effective, unknown_key
from engine.assets.models import IngestConfig, IngestOptions
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now
from engine.enrich.settings import AnalysisDefaults
from engine.errors import Forbidden, TooLarge

CACHE_MAX = 10_000


class AccountSettingsService:
    """``cache_ttl_s``: how long a process uses an account's settings before reading them again; a change
    made through another process takes effect here within it (through this one, at once)."""

    def __init__(self, catalog: Catalog, *, analysis: AnalysisDefaults, server_max_upload: int, cache_ttl_s: float):
        self.catalog = catalog
        self.analysis = analysis
        self.server_cap = server_max_upload
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[float, AccountSettings]] = {}

    async def get(self, account_id: str) -> AccountSettings:
        remembered = self._cache.get(account_id)
        moment = time.monotonic()
        if remembered is not None and remembered[0] > moment:
            return remembered[1]
        s = tables.account_settings
        rows = await self.catalog.read(
            lambda conn: conn.execute(sa.select(s.c.key, s.c.value).where(s.c.account_id == account_id)).all())
        found = effective({row.key: row.value for row in rows}, analysis=self.analysis, server_cap=self.server_cap)
        if self.cache_ttl_s > 0:
            if len(self._cache) >= CACHE_MAX:
                self._cache.pop(next(iter(self._cache)))
            self._cache[account_id] = (moment + self.cache_ttl_s, found)
        return found

    async def put(self, principal: Principal, key: str, value: Any, *, tools: Collection[str]) -> AccountSettings:
        """Set (or, with None, reset) one key; admins only. ``tools``: the tool ids there are."""
        if not principal.is_admin:
            raise Forbidden("Only an admin of the account may change its settings.", code="admin_required")
        try:
            setting = SettingKey(key)
        except ValueError:
            raise unknown_key(key) from None
        stored = checked(setting, value, tools=tools, server_cap=self.server_cap)
        s = tables.account_settings
        mine = (s.c.account_id == principal.account_id) & (s.c.key == setting.value)
        async with self.catalog.begin() as conn:
            if stored is None:
                await conn.execute(s.delete().where(mine))
            else:
                row = {"account_id": principal.account_id, "key": setting.value, "value": stored, "updated_at": now(),
                       "updated_by": principal.user_id or principal.key_id}
                await conn.execute(upsert.insert(conn, s).values(**row).on_conflict_do_update(
                    index_elements=[s.c.account_id, s.c.key],
                    set_={"value": stored, "updated_at": row["updated_at"], "updated_by": row["updated_by"]}))
        self._cache.pop(principal.account_id, None)
        return await self.get(principal.account_id)

    async def check_tool(self, account_id: str, tool_id: str) -> None:
        if tool_id in (await self.get(account_id)).disabled_tools:
            raise Forbidden(f"The tool {tool_id!r} is turned off for this account (setting disabled_tools).",
                            code="tool_disabled", tool=tool_id)

    async def upload_options(self, account_id: str, size: int, options: IngestOptions) -> IngestOptions:
        """The options an upload of ``size`` bytes runs with (its unset flags from the account's defaults),
        or 413 past the account's upload limit."""
        found = await self.get(account_id)
        if size > found.max_upload_bytes:
            raise TooLarge(f"The file is larger than this account's upload limit of {found.max_upload_bytes} bytes.",
                           code="asset_file_too_large", max_bytes=found.max_upload_bytes)
        server = self.analysis.model_dump()
        changed = {k: v for k, v in found.default_analysis.model_dump().items() if v != server[k]}
        if not changed:
            return options
        config = IngestConfig.model_validate(changed | options.config.model_dump(exclude_none=True))
        return options.model_copy(update={"config": config})
