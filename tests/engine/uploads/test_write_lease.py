"""A PATCH keeps its lease on a timer, however slowly its bytes arrive, and stops the moment it loses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine import Engine
from engine.auth import Principal
from engine.catalog.database import now
from engine.errors import PicshaError
from engine.uploads.models import UploadCreate
from engine.uploads.spool import FLUSH_BYTES
from tests.conftest import in_own_task
from tests.factories import make_settings

LEASE_S = 0.6


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    settings = make_settings(tmp_path)
    settings.uploads.lease_s = LEASE_S
    async with in_own_task(Engine.open(settings)) as opened:
        yield opened


async def chunks(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def refused(engine: Engine, owner: Principal, upload_id: str, data: bytes) -> PicshaError:
    with pytest.raises(PicshaError) as error:
        await engine.uploads.append(owner, upload_id, offset=0, chunks=chunks(data))
    return error.value


async def test_a_trickling_patch_keeps_its_lease_across_lease_periods(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=4 * FLUSH_BYTES))
    pieces = [bytes([65 + n]) * 1000 for n in range(4)]
    retries: list[PicshaError] = []

    async def trickle() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
            await asyncio.sleep(LEASE_S * 1.2)  # a slow client: more than a lease between chunks
            # a retried PATCH meanwhile finds the upload still held, and changes nothing
            retries.append(await refused(engine, owner, upload.id, b"z" * 500))

    done = await engine.uploads.append(owner, upload.id, offset=0, chunks=trickle())
    data = b"".join(pieces)
    assert done.offset == len(data)
    assert [(e.status, e.code) for e in retries] == [(423, "upload_locked")] * len(pieces)
    assert engine.uploads.spool.path(upload.id).read_bytes() == data
    row = await engine.uploads.records.fetch(owner.account_id, upload.id)
    assert row is not None and row["lease"] is None and row["offset"] == len(data)


async def test_a_writer_whose_lease_is_taken_stops_at_once(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=4 * FLUSH_BYTES))
    holding, never = asyncio.Event(), asyncio.Event()

    async def first() -> AsyncIterator[bytes]:
        yield b"a" * FLUSH_BYTES  # a whole buffer: it goes to disk before the next chunk is asked for
        holding.set()
        for _ in range(20):
            await asyncio.sleep(0.02)  # the client keeps sending, slowly
            yield b"a" * 100
        await never.wait()  # then stalls: the writer must stop by itself

    writer = asyncio.create_task(engine.uploads.append(owner, upload.id, offset=0, chunks=first()))
    await asyncio.wait_for(holding.wait(), 10)
    before = await engine.uploads.records.fetch(owner.account_id, upload.id)
    assert before is not None and before["lease"]
    # Another request takes the lease (as a retried PATCH does once a lease has lapsed).
    await engine.uploads.records.update(upload.id, lease="retry", lease_until=now() + timedelta(seconds=60))
    taken = await engine.uploads.records.fetch(owner.account_id, upload.id)
    with pytest.raises(PicshaError) as stopped:
        await asyncio.wait_for(writer, 10)
    assert (stopped.value.status, stopped.value.code) == (423, "upload_locked")
    after = await engine.uploads.records.fetch(owner.account_id, upload.id)
    assert after == taken and after is not None and after["lease"] == "retry" and after["offset"] == 0
    path = engine.uploads.spool.path(upload.id)
    assert path.read_bytes() == b"a" * FLUSH_BYTES  # nothing written after the take, nothing cut

    # The request holding the lease now writes the upload; its bytes are the only ones in it.
    await engine.uploads.records.release(upload.id, "retry")
    data = b"b" * (FLUSH_BYTES + 300)
    done = await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:700], data[700:]))
    assert done.offset == len(data)
    assert path.read_bytes() == data


async def test_a_lease_taken_after_the_last_byte_is_not_reported_as_written(
    engine: Engine, owner: Principal
) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=100))

    async def taken_at_the_end() -> AsyncIterator[bytes]:
        yield b"a" * 10
        await engine.uploads.records.update(upload.id, lease="retry", lease_until=now() + timedelta(seconds=60))

    with pytest.raises(PicshaError) as stopped:
        await engine.uploads.append(owner, upload.id, offset=0, chunks=taken_at_the_end())
    assert stopped.value.code == "upload_locked"
    row = await engine.uploads.records.fetch(owner.account_id, upload.id)
    assert row is not None and row["lease"] == "retry" and row["offset"] == 0
    await engine.uploads.records.release(upload.id, "retry")
    done = await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"b" * 7))
    assert done.offset == 7 and engine.uploads.spool.path(upload.id).read_bytes() == b"b" * 7
