"""Scrape schedules: one run per period however many processes look, and each run stores only new files."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import Engine, Settings
from engine.auth import Principal
from engine.catalog import tables
from engine.catalog.database import now
from engine.errors import InvalidInput
from engine.scrape.models import ScheduleCreate, ScrapeResult
from engine.scrape.schedules import cron_of, next_after
from tests.conftest import in_own_task
from tests.engine.scrape.site import Site


async def make_due(engine: Engine, schedule_id: str) -> None:
    s = tables.scrape_schedules
    async with engine.catalog.begin() as conn:
        await conn.execute(s.update().where(s.c.id == schedule_id).values(next_run=now() - timedelta(minutes=1)))


async def test_two_engines_on_one_catalog_run_a_period_once(settings: Settings, site: Site) -> None:
    async with in_own_task(Engine.open(settings, run_jobs=False)) as first, \
            in_own_task(Engine.open(settings, run_jobs=False)) as second:
        owner = Principal(account_id=first.owner_account_id)
        created = await first.scrape.create_schedule(owner, ScheduleCreate(url=site.url("/"), name="gallery",
                                                                           schedule="daily", hour=6))
        assert created.next_run > now()
        assert await first.scrape.schedules.run_due() == []  # not due yet
        for _period in range(3):
            await make_due(first, created.schedule_id)
            started = await asyncio.gather(*(engine.scrape.schedules.run_due() for engine in (first, second, first)))
            assert sum(len(jobs) for jobs in started) == 1
        schedule = await second.scrape.schedules.get(owner, created.schedule_id)
        assert schedule.next_run > now() and schedule.last_job_id is not None
        j = tables.jobs
        async with first.catalog.connect() as conn:
            runs = (await conn.execute(sa.select(sa.func.count()).where(j.c.kind == "scrape"))).scalar_one()
        assert runs == 3


async def test_a_scheduled_run_stores_only_new_files(engine: Engine, owner: Principal, site: Site) -> None:
    created = await engine.scrape.create_schedule(owner, ScheduleCreate(url=site.url("/a/1.html"), name="level one"))
    results = []
    for _run in range(2):
        await make_due(engine, created.schedule_id)
        [job_id] = await engine.scrape.schedules.run_due()
        assert await engine.jobs.wait(job_id, 60)
        results.append(ScrapeResult.model_validate((await engine.jobs.get(owner.account_id, job_id)).result))
    assert results[0].assets.count == 1
    assert results[1].assets.count == 0 and results[1].skipped_count == {"duplicate": 1}


async def test_toggle_and_delete(engine: Engine, owner: Principal, site: Site) -> None:
    created = await engine.scrape.create_schedule(owner, ScheduleCreate(url=site.url("/"), name="g"))
    assert not (await engine.scrape.schedules.toggle(owner, created.schedule_id)).enabled
    await make_due(engine, created.schedule_id)
    assert await engine.scrape.schedules.run_due() == []  # disabled: not run
    assert (await engine.scrape.schedules.toggle(owner, created.schedule_id)).enabled
    await engine.scrape.schedules.delete(owner, created.schedule_id)
    assert await engine.scrape.schedules.list(owner) == []


def test_cadences_become_cron_expressions() -> None:
    assert cron_of(ScheduleCreate(url="https://e.com", name="n", schedule="weekly", hour=6, day_of_week=0)) == "0 6 * * 1"
    assert cron_of(ScheduleCreate(url="https://e.com", name="n", schedule="monthly", hour=23)) == "0 23 1 * *"
    assert cron_of(ScheduleCreate(url="https://e.com", name="n", schedule="*/30 * * * *")) == "*/30 * * * *"
    with pytest.raises(InvalidInput) as refused:
        cron_of(ScheduleCreate(url="https://e.com", name="n", schedule="fortnightly"))
    assert refused.value.code == "schedule_invalid"
    start = now().replace(hour=7, minute=0, second=0, microsecond=0)
    assert next_after("0 6 * * *", start) == start + timedelta(hours=23)
