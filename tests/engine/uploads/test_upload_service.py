"""The upload service on real SQLite and real folders: locking, expiry, restarts, crash leftovers."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine import Engine
from engine.auth import Principal
from engine.catalog.database import now
from engine.errors import PicshaError
from engine.settings import Settings
from engine.uploads.models import Checksum, ChecksumAlgorithm, UploadCreate, UploadStatus
from tests.factories import image_bytes, make_settings


async def chunks(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def test_two_writers_never_share_an_upload(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=100))
    holding, gate = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"a" * 10
        holding.set()  # asked for more after the first chunk: the lease is taken and the chunk written
        await gate.wait()
        yield b"b" * 10

    first = asyncio.create_task(engine.uploads.append(owner, upload.id, offset=0, chunks=slow()))
    await asyncio.wait_for(holding.wait(), 10)
    with pytest.raises(PicshaError) as refused:
        await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"c" * 10))
    assert refused.value.status == 423 and refused.value.code == "upload_locked"
    gate.set()
    assert (await first).offset == 20
    after = await engine.uploads.append(owner, upload.id, offset=20, chunks=chunks(b"d" * 5))
    assert after.offset == 25
    assert engine.uploads.spool.path(upload.id).read_bytes() == b"a" * 10 + b"b" * 10 + b"d" * 5


async def test_expired_upload_is_refused_then_swept_with_its_bytes(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=100))
    await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"x" * 30))
    path = engine.uploads.spool.path(upload.id)
    assert path.exists()
    await engine.uploads.records.update(upload.id, expires_at=now() - timedelta(seconds=1))
    with pytest.raises(PicshaError) as expired:
        await engine.uploads.append(owner, upload.id, offset=30, chunks=chunks(b"y"))
    assert expired.value.status == 410 and expired.value.code == "upload_expired"
    assert await engine.uploads.sweep() == 1
    assert not path.exists()
    with pytest.raises(PicshaError) as gone:
        await engine.uploads.get(owner, upload.id)
    assert gone.value.status == 404


async def test_the_sweeper_task_runs_on_its_own(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.uploads.expire_after_s = 4  # long enough for the append below on a busy machine
    settings.uploads.sweep_interval_s = 0.05
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        upload = await engine.uploads.create(owner, UploadCreate(length=10))
        await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"12345"))
        for _ in range(400):
            if await engine.uploads.records.fetch(owner.account_id, upload.id) is None:
                break
            await asyncio.sleep(0.05)
        assert await engine.uploads.records.fetch(owner.account_id, upload.id) is None
        assert not engine.uploads.spool.path(upload.id).exists()


async def test_upload_resumes_after_a_restart(settings: Settings) -> None:
    data = image_bytes(120, 90, "png")
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        upload = await engine.uploads.create(owner, UploadCreate(length=len(data), metadata={"filename": "r.png"}))
        await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:500]))
    async with Engine.open(settings) as engine:
        assert (await engine.uploads.get(owner, upload.id)).offset == 500
        done = await engine.uploads.append(owner, upload.id, offset=500, chunks=chunks(data[500:]))
        asset = await engine.uploads.finished_asset(owner, upload.id)
    assert done.status is UploadStatus.DONE and asset.id == done.asset_id
    assert asset.meta.sha256 == hashlib.sha256(data).hexdigest() and asset.filename == "r.png"


async def test_bytes_a_crashed_writer_left_past_the_offset_are_cut(engine: Engine, owner: Principal) -> None:
    data = image_bytes(80, 60, "png")
    upload = await engine.uploads.create(owner, UploadCreate(length=len(data)))
    await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:100]))
    with open(engine.uploads.spool.path(upload.id), "ab") as handle:
        handle.write(b"garbage never acknowledged")
    engine.uploads._hashes.clear()  # as after a restart: the file is hashed again at the end
    done = await engine.uploads.append(owner, upload.id, offset=100, chunks=chunks(data[100:]))
    asset = await engine.uploads.finished_asset(owner, upload.id)
    assert done.status is UploadStatus.DONE and asset.meta.sha256 == hashlib.sha256(data).hexdigest()


async def test_checksum_mismatch_keeps_the_running_hash(engine: Engine, owner: Principal) -> None:
    data = image_bytes(80, 60, "png")
    upload = await engine.uploads.create(owner, UploadCreate(length=len(data)))
    await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:64]))
    wrong = Checksum(algorithm=ChecksumAlgorithm.SHA256, digest=b"0" * 32)
    with pytest.raises(PicshaError) as refused:
        await engine.uploads.append(owner, upload.id, offset=64, chunks=chunks(data[64:]), checksum=wrong)
    assert refused.value.status == 460
    assert (await engine.uploads.get(owner, upload.id)).offset == 64
    assert engine.uploads.spool.path(upload.id).stat().st_size == 64
    right = Checksum(algorithm=ChecksumAlgorithm.SHA256, digest=hashlib.sha256(data[64:]).digest())
    await engine.uploads.append(owner, upload.id, offset=64, chunks=chunks(data[64:]), checksum=right)
    asset = await engine.uploads.finished_asset(owner, upload.id)
    assert asset.meta.sha256 == hashlib.sha256(data).hexdigest()


async def test_an_ingest_cut_off_by_a_crash_is_finished_by_the_sweeper(settings: Settings) -> None:
    data = image_bytes(64, 64, "png")
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        upload = await engine.uploads.create(owner, UploadCreate(length=len(data)))
        await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:10]))
        # What a crash between the last byte and the asset leaves: every byte, status processing, a stale lease.
        engine.uploads.spool.path(upload.id).write_bytes(data)
        await engine.uploads.records.update(
            upload.id, offset=len(data), status="processing", lease="dead", lease_until=now() - timedelta(seconds=1)
        )
    async with Engine.open(settings) as engine:
        for _ in range(300):  # the engine's own sweeper may be the one that takes it up
            await engine.uploads.sweep()
            finished = await engine.uploads.get(owner, upload.id)
            if finished.status is not UploadStatus.PROCESSING:
                break
            await asyncio.sleep(0.1)
    assert finished.status is UploadStatus.DONE and finished.asset_id


async def test_finished_asset_of_an_unfinished_upload_is_a_conflict(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=10))
    with pytest.raises(PicshaError) as refused:
        await engine.uploads.finished_asset(owner, upload.id)
    assert refused.value.status == 409 and refused.value.code == "upload_not_finished"
    stranger = Principal(account_id="acct_nobody")
    with pytest.raises(PicshaError) as hidden:
        await engine.uploads.finished_asset(stranger, upload.id)
    assert hidden.value.status == 404


async def test_a_chunk_reaches_the_disk_while_it_is_still_arriving(engine: Engine, owner: Principal) -> None:
    """PATCH bodies stream: bytes are written in bounded buffers, never held whole in memory."""
    from engine.uploads.spool import FLUSH_BYTES

    upload = await engine.uploads.create(owner, UploadCreate(length=4 * FLUSH_BYTES))
    path = engine.uploads.spool.path(upload.id)
    seen_on_disk: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for index in range(4 * 16):
            if index == 3 * 16:
                seen_on_disk.append(path.stat().st_size)
            yield b"z" * (FLUSH_BYTES // 16)

    await engine.uploads.append(owner, upload.id, offset=0, chunks=body())
    assert seen_on_disk and seen_on_disk[0] >= FLUSH_BYTES


async def test_lost_bytes_are_reported_not_padded(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=100))
    await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"x" * 40))
    engine.uploads.spool.path(upload.id).unlink()
    with pytest.raises(PicshaError) as lost:
        await engine.uploads.append(owner, upload.id, offset=40, chunks=chunks(b"y" * 60))
    assert lost.value.status == 410 and lost.value.code == "upload_bytes_missing"
    assert not engine.uploads.spool.path(upload.id).exists() or engine.uploads.spool.path(upload.id).stat().st_size == 0


async def test_the_one_statement_lease_refuses_as_before(engine: Engine, owner: Principal) -> None:
    """A PATCH the combined lease-and-read does not let through gets the same answer as ever."""
    upload = await engine.uploads.create(owner, UploadCreate(length=100))
    await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"x" * 10))
    assert await engine.uploads.records.take_lease(upload.id, "other-writer", 60)

    async def refusal(principal: Principal, offset: int) -> tuple[int, str]:
        with pytest.raises(PicshaError) as refused:
            await engine.uploads.append(principal, upload.id, offset=offset, chunks=chunks(b"y" * 5))
        return refused.value.status, refused.value.code

    assert await refusal(owner, 10) == (423, "upload_locked")
    assert await refusal(owner, 3) == (409, "upload_offset_mismatch")  # the refusal wins over the lock
    assert await refusal(Principal(account_id="acct_stranger"), 10) == (404, "upload_not_found")
    await engine.uploads.records.update(upload.id, expires_at=now() - timedelta(seconds=1))
    assert await refusal(owner, 10) == (410, "upload_expired")
    row = await engine.uploads.records.fetch(owner.account_id, upload.id)
    assert row is not None and row["lease"] == "other-writer" and row["offset"] == 10


async def test_lease_for_append_matches_only_a_writable_upload(engine: Engine, owner: Principal) -> None:
    records = engine.uploads.records
    upload = await engine.uploads.create(owner, UploadCreate(length=100))
    assert await records.lease_for_append("acct_stranger", upload.id, 0, "t1", 60) is None
    assert await records.lease_for_append(owner.account_id, upload.id, 5, "t1", 60) is None
    row = await records.lease_for_append(owner.account_id, upload.id, 0, "t1", 60)
    assert row == await records.fetch(owner.account_id, upload.id)
    assert row is not None and row["lease"] == "t1" and isinstance(row["metadata"], dict)
    assert await records.lease_for_append(owner.account_id, upload.id, 0, "t2", 60) is None  # held by t1
    await records.release(upload.id, "t1")
    for changes in ({"status": UploadStatus.COMPLETE.value}, {"expires_at": now() - timedelta(seconds=1)},
                    {"concat": "final"}):
        await records.update(upload.id, **changes)
        assert await records.lease_for_append(owner.account_id, upload.id, 0, "t3", 60) is None
        await records.update(upload.id, status=UploadStatus.UPLOADING.value, concat=None,
                             expires_at=now() + timedelta(seconds=60))
    assert await records.lease_for_append(owner.account_id, upload.id, 0, "t4", 60) is not None


async def test_a_refused_chunk_frees_the_lease_and_changes_nothing(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=10))
    before = await engine.uploads.records.fetch(owner.account_id, upload.id)
    for content_length, body in ((11, b"x" * 11), (None, b"x" * 11)):  # announced, then found while streaming
        with pytest.raises(PicshaError) as refused:
            await engine.uploads.append(
                owner, upload.id, offset=0, chunks=chunks(body), content_length=content_length
            )
        assert refused.value.status == 413
    after = await engine.uploads.records.fetch(owner.account_id, upload.id)
    assert before is not None and after is not None
    assert after["lease"] is None and after["offset"] == 0 and after["updated_at"] == before["updated_at"]
    done = await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"plain text"))
    assert done.status is UploadStatus.DONE


@pytest.mark.parametrize(
    ("pieces", "ascii_text", "kind"),
    [
        ([b"plain ", b"ASCII ", b"text\n"], True, "txt"),
        (["caf\u00e9 ".encode(), b"au lait\n"], False, "txt"),  # UTF-8 beyond ASCII: the file is read again
        ([b"looks like text\x00", b" but has a NUL"], False, None),
    ],
)
async def test_text_is_recognised_from_the_streamed_bytes(
    engine: Engine, owner: Principal, pieces: list[bytes], ascii_text: bool, kind: str | None
) -> None:
    data = b"".join(pieces)
    upload = await engine.uploads.create(owner, UploadCreate(length=len(data), metadata={"filename": "notes.txt"}))
    offset = 0
    for piece in pieces[:-1]:
        offset = (await engine.uploads.append(owner, upload.id, offset=offset, chunks=chunks(piece))).offset
    assert engine.uploads._hashes[upload.id].ascii_text is ascii_text
    if kind is None:
        with pytest.raises(PicshaError) as refused:
            await engine.uploads.append(owner, upload.id, offset=offset, chunks=chunks(pieces[-1]))
        assert refused.value.code == "asset_content_type_not_allowed"
        return
    await engine.uploads.append(owner, upload.id, offset=offset, chunks=chunks(pieces[-1]))
    asset = await engine.uploads.finished_asset(owner, upload.id)
    assert asset.meta.format == kind and asset.meta.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_discarded_chunk_leaves_the_text_check_as_it_was(engine: Engine, owner: Principal) -> None:
    upload = await engine.uploads.create(owner, UploadCreate(length=20))
    await engine.uploads.append(owner, upload.id, offset=0, chunks=chunks(b"0123456789"))
    wrong = Checksum(algorithm=ChecksumAlgorithm.SHA256, digest=b"0" * 32)
    with pytest.raises(PicshaError):
        await engine.uploads.append(owner, upload.id, offset=10, chunks=chunks(b"\x00" * 10), checksum=wrong)
    assert engine.uploads._hashes[upload.id].ascii_text is True
    await engine.uploads.append(owner, upload.id, offset=10, chunks=chunks(b"abcdefghij"))
    assert (await engine.uploads.finished_asset(owner, upload.id)).meta.format == "txt"
