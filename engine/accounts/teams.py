"""Teams group users inside an account; removing one leaves its users without a team."""

from __future__ import annotations

import sqlalchemy as sa

from engine.accounts.models import Team
from engine.catalog import Catalog, tables, upsert
from engine.catalog.database import now, utc
from engine.errors import Conflict, NotFound
from engine.ids import IdPrefix, new_id


def _team(row: sa.Row) -> Team:
    return Team(id=row.id, name=row.name, account_id=row.account_id, created_at=utc(row.created_at))


def _not_found(team_id: str) -> NotFound:
    return NotFound(f"No team {team_id!r} in this account (GET /v1/auth/teams lists them).", code="team_not_found")


def _taken(name: str) -> Conflict:
    return Conflict(f"This account has a team named {name!r} already.", code="team_name_taken")


class TeamService:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    async def create(self, account_id: str, name: str) -> Team:
        t = tables.teams
        row = dict(id=new_id(IdPrefix.TEAM), account_id=account_id, name=name, created_at=now())
        async with self.catalog.begin() as conn:
            if (await conn.execute(upsert.insert(conn, t).values(**row).on_conflict_do_nothing())).rowcount == 0:
                raise _taken(name)
        return Team(**row)

    async def list(self, account_id: str) -> list[Team]:
        t = tables.teams
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(sa.select(t).where(t.c.account_id == account_id).order_by(t.c.name))).all()
        return [_team(row) for row in rows]

    async def get(self, account_id: str, team_id: str) -> Team:
        t = tables.teams
        async with self.catalog.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == team_id, t.c.account_id == account_id))).first()
        if row is None:
            raise _not_found(team_id)
        return _team(row)

    async def rename(self, account_id: str, team_id: str, name: str) -> Team:
        t = tables.teams
        async with self.catalog.begin() as conn:
            clash = await conn.scalar(sa.select(t.c.id).where(t.c.account_id == account_id, t.c.name == name,
                                                              t.c.id != team_id))
            if clash is not None:
                raise _taken(name)
            if (await conn.execute(t.update().where(t.c.id == team_id, t.c.account_id == account_id)
                                   .values(name=name))).rowcount == 0:
                raise _not_found(team_id)
        return await self.get(account_id, team_id)

    async def delete(self, account_id: str, team_id: str) -> Team:
        found = await self.get(account_id, team_id)
        t, u = tables.teams, tables.users
        async with self.catalog.begin() as conn:
            await conn.execute(u.update().where(u.c.team_id == team_id, u.c.account_id == account_id).values(team_id=None))
            await conn.execute(sa.delete(t).where(t.c.id == team_id, t.c.account_id == account_id))
        return found
