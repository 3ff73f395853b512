"""Saved file pipelines: a name, a description and the steps, kept per account (``pl_`` ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field

from engine.auth import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now, utc
from engine.errors import NotFound
from engine.ids import IdPrefix, new_id


class SavedPipeline(BaseModel):
    id: str
    name: str
    description: str | None = None
    steps: list[dict[str, Any]] = Field(description='[{"toolId": ..., "settings": {...}}, ...]')
    created_at: datetime


def _visible(principal: Principal) -> list[sa.ColumnElement[bool]]:
    """A user sees the pipelines they saved; an admin every one of the account."""
    p = tables.pipelines
    where = [p.c.account_id == principal.account_id]
    if not principal.is_admin:
        where.append(p.c.user_id == principal.user_id)
    return where


class SavedPipelines:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    @staticmethod
    def _model(row: sa.Row) -> SavedPipeline:
        return SavedPipeline(id=row.id, name=row.name, description=row.description, steps=list(row.steps),
                             created_at=utc(row.created_at))

    async def save(self, principal: Principal, *, name: str, description: str | None,
                   steps: list[dict[str, Any]]) -> SavedPipeline:
        row = dict(id=new_id(IdPrefix.PIPELINE), account_id=principal.account_id, name=name, description=description,
                   steps=steps, created_at=now())
        async with self.catalog.begin() as conn:
            await conn.execute(tables.pipelines.insert().values(**row, user_id=principal.user_id))
        return SavedPipeline(**{k: v for k, v in row.items() if k != "account_id"})

    async def list(self, principal: Principal) -> list[SavedPipeline]:
        p = tables.pipelines
        query = sa.select(p).where(*_visible(principal)).order_by(p.c.created_at.desc(), p.c.id)
        async with self.catalog.connect() as conn:
            return [self._model(row) for row in (await conn.execute(query)).all()]

    async def get(self, principal: Principal, pipeline_id: str) -> SavedPipeline:
        p = tables.pipelines
        query = sa.select(p).where(p.c.id == pipeline_id, *_visible(principal))
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"No saved pipeline {pipeline_id!r} in this account (GET /v1/pipeline/list lists them).",
                           code="pipeline_not_found")
        return self._model(row)

    async def delete(self, principal: Principal, pipeline_id: str) -> SavedPipeline:
        found = await self.get(principal, pipeline_id)
        p = tables.pipelines
        async with self.catalog.begin() as conn:
            await conn.execute(sa.delete(p).where(p.c.id == pipeline_id, *_visible(principal)))
        return found
