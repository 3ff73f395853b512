"""The S3 spool with several servers: two engines on one catalog and one bucket, each with its own data
folder (two machines behind a load balancer). Any of them takes the next chunk of an upload."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.auth import Principal
from engine.errors import PicshaError
from engine.settings import CatalogSettings
from engine.uploads.checksum import ChunkDigests
from engine.uploads.models import ConcatKind, UploadCreate, UploadStatus
from tests.factories import make_settings
from tests.s3 import s3_settings

MIB = 1024 * 1024


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), MIB):
        yield data[start : start + MIB]


def text_file(size: int, line: bytes = b"the same upload, one chunk here and the next one there.\n") -> bytes:
    return (line * (size // len(line) + 1))[:size]


@asynccontextmanager
async def servers(moto_endpoint: str, tmp_path: Path, count: int = 2) -> AsyncIterator[list[Engine]]:
    storage = s3_settings(moto_endpoint)
    catalog = CatalogSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(Engine.open(make_settings(path, storage=storage, catalog=catalog)))
            for path in (tmp_path / f"server{n}" for n in range(count))
        ]


def s3_keys(engine: Engine, prefix: str = "uploads/") -> list[str]:
    store: Any = engine.store
    found = store.client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/{prefix}")
    return [item["Key"] for item in found.get("Contents", [])]


def multipart_uploads(engine: Engine) -> list[Any]:
    store: Any = engine.store
    return store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])


class Fetches:
    """Counts the times a server rebuilds a tail from the pieces in S3."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch):
        spool: Any = engine.uploads.spool
        self.count, fetch = 0, spool._fetch

        async def counted(*args: Any) -> None:
            self.count += 1
            await fetch(*args)

        monkeypatch.setattr(spool, "_fetch", counted)


async def test_chunks_alternate_between_servers(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = text_file(19 * MIB + 4321)
    async with servers(moto_endpoint, tmp_path) as (a, b):
        owner = Principal(account_id=a.owner_account_id)
        fetches = [Fetches(a, monkeypatch), Fetches(b, monkeypatch)]
        upload = await a.uploads.create(owner, UploadCreate(length=len(data), metadata={"filename": "shared.txt"}))
        # below the 5 MiB part size, reaching it, above it, one byte, then a short last part
        steps = [(a, MIB), (b, 2 * MIB), (a, MIB + 7), (b, 3 * MIB), (a, 7 * MIB), (b, 1), (a, 2 * MIB)]
        offset = 0
        for server, size in steps:
            await server.uploads.append(owner, upload.id, offset=offset, chunks=chunks(data[offset : offset + size]))
            offset += size
        done = await b.uploads.append(owner, upload.id, offset=offset, chunks=chunks(data[offset:]))
        asset = await b.uploads.finished_asset(owner, upload.id)
        stored = await a.store.read_bytes(f"originals/{asset.meta.sha256[:2]}/{asset.meta.sha256}")
        assert done.status is UploadStatus.DONE
        assert asset.meta.sha256 == hashlib.sha256(data).hexdigest() and stored == data
        # each server read back the tail the other one wrote, and only then
        assert [f.count for f in fetches] == [2, 3]
        assert s3_keys(a) == [] and multipart_uploads(a) == []


async def test_one_server_never_reads_its_own_tail_back(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = text_file(4 * MIB + 99)
    async with servers(moto_endpoint, tmp_path, count=1) as (a,):
        owner = Principal(account_id=a.owner_account_id)
        fetches = Fetches(a, monkeypatch)
        upload = await a.uploads.create(owner, UploadCreate(length=len(data)))
        for offset in range(0, len(data), MIB):
            await a.uploads.append(owner, upload.id, offset=offset, chunks=chunks(data[offset : offset + MIB]))
        assert fetches.count == 0
        asset = await a.uploads.finished_asset(owner, upload.id)
        assert asset.meta.sha256 == hashlib.sha256(data).hexdigest()
        assert s3_keys(a) == []


async def test_a_single_chunk_upload_writes_nothing_to_the_spool_in_s3(moto_endpoint: str, tmp_path: Path) -> None:
    data = text_file(2 * MIB)
    async with servers(moto_endpoint, tmp_path, count=1) as (a,):
        owner = Principal(account_id=a.owner_account_id)
        client: Any = a.store.client  # type: ignore[attr-defined]
        calls: list[tuple[str, str]] = []
        original = client._make_api_call

        def recorded(name: str, params: dict[str, Any]) -> Any:
            calls.append((name, params.get("Key") or params.get("Prefix") or ""))
            return original(name, params)

        client._make_api_call = recorded
        upload = await a.uploads.create(owner, UploadCreate(length=len(data)))
        done = await a.uploads.append(owner, upload.id, offset=0, chunks=chunks(data))
    assert done.status is UploadStatus.DONE
    assert [call for call in calls if "/uploads/" in call[1]] == [], calls


async def test_pieces_go_once_a_part_holds_them(moto_endpoint: str, tmp_path: Path) -> None:
    data = text_file(12 * MIB)
    async with servers(moto_endpoint, tmp_path) as (a, b):
        owner = Principal(account_id=a.owner_account_id)
        upload = await a.uploads.create(owner, UploadCreate(length=len(data)))
        await a.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[: 2 * MIB]))
        await b.uploads.append(owner, upload.id, offset=2 * MIB, chunks=chunks(data[2 * MIB : 4 * MIB]))
        assert len(s3_keys(a, f"uploads/{upload.id}.tail/")) == 2
        await a.uploads.append(owner, upload.id, offset=4 * MIB, chunks=chunks(data[4 * MIB : 6 * MIB]))
        assert len(s3_keys(a, f"uploads/{upload.id}.tail/")) == 2, "a part holds them; the next write deletes them"
        await b.uploads.append(owner, upload.id, offset=6 * MIB, chunks=chunks(data[6 * MIB : 7 * MIB]))
        assert len(s3_keys(a, f"uploads/{upload.id}.tail/")) == 1
        await a.uploads.terminate(owner, upload.id)
        assert s3_keys(a) == [] and multipart_uploads(a) == []
        assert os.listdir(a.settings.data_dir / "uploads") == []


async def test_parts_shipped_by_a_server_that_died_are_replaced(moto_endpoint: str, tmp_path: Path) -> None:
    """Server A ships a part and dies before the row records it: the row still names the pieces, which are
    still in S3, and B sends that part again (the client may even send other bytes at that offset)."""
    data = text_file(13 * MIB + 5)
    async with servers(moto_endpoint, tmp_path) as (a, b):
        owner = Principal(account_id=a.owner_account_id)
        upload = await a.uploads.create(owner, UploadCreate(length=len(data)))

        async def dies_before_the_row_update(offset: int, size: int) -> None:
            row = await a.uploads.records.fetch(owner.account_id, upload.id)
            assert row is not None

            class Held:
                lost = False

                async def hold(self) -> None:
                    return None

            _written, lost = await a.uploads.spool.write(
                upload.id, row["spool"], offset, chunks(b"x" * size), limit=len(data) - offset,
                digests=ChunkDigests(None, None), lease=Held(),
            )
            assert lost["shipped"] == offset + size, "a part was shipped"

        await a.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[: 3 * MIB]))
        await dies_before_the_row_update(3 * MIB, 3 * MIB)  # in a multipart upload no row ever names
        await b.uploads.append(owner, upload.id, offset=3 * MIB, chunks=chunks(data[3 * MIB : 6 * MIB]))
        await a.uploads.append(owner, upload.id, offset=6 * MIB, chunks=chunks(data[6 * MIB : 7 * MIB]))
        await dies_before_the_row_update(7 * MIB, 4 * MIB)  # as part 2 of the recorded multipart upload
        assert len(multipart_uploads(a)) == 2
        await b.uploads.append(owner, upload.id, offset=7 * MIB, chunks=chunks(data[7 * MIB : 11 * MIB]))
        await a.uploads.append(owner, upload.id, offset=11 * MIB, chunks=chunks(data[11 * MIB :]))
        asset = await a.uploads.finished_asset(owner, upload.id)
        assert asset.meta.sha256 == hashlib.sha256(data).hexdigest()
        stored = await a.store.read_bytes(f"originals/{asset.meta.sha256[:2]}/{asset.meta.sha256}")
        assert stored == data
        assert s3_keys(a) == [] and multipart_uploads(a) == []


async def test_a_lost_or_pruned_local_tail_is_fetched_again(moto_endpoint: str, tmp_path: Path) -> None:
    data = text_file(4 * MIB)
    async with servers(moto_endpoint, tmp_path) as (a, b):
        owner = Principal(account_id=a.owner_account_id)
        upload = await a.uploads.create(owner, UploadCreate(length=len(data)))
        await a.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:MIB]))
        await b.uploads.append(owner, upload.id, offset=MIB, chunks=chunks(data[MIB : 2 * MIB]))
        # A's copy is out of date, and idle: the sweep prunes it (a long-idle copy is never needed)
        spool_dir = a.settings.data_dir / "uploads"
        for name in os.listdir(spool_dir):
            os.utime(spool_dir / name, (1, 1))
        assert await a.uploads.sweep() == 0
        assert os.listdir(spool_dir) == []
        await a.uploads.append(owner, upload.id, offset=2 * MIB, chunks=chunks(data[2 * MIB : 3 * MIB]))
        a.uploads.spool.tail(upload.id).unlink()  # A wrote the last bytes, then lost its copy (a new disk)
        await a.uploads.append(owner, upload.id, offset=3 * MIB, chunks=chunks(data[3 * MIB :]))
        asset = await a.uploads.finished_asset(owner, upload.id)
        assert asset.meta.sha256 == hashlib.sha256(data).hexdigest()
        assert s3_keys(a) == []


async def test_a_missing_piece_fails_the_upload_cleanly(moto_endpoint: str, tmp_path: Path) -> None:
    data = text_file(3 * MIB)
    async with servers(moto_endpoint, tmp_path) as (a, b):
        owner = Principal(account_id=a.owner_account_id)
        upload = await a.uploads.create(owner, UploadCreate(length=len(data)))
        await a.uploads.append(owner, upload.id, offset=0, chunks=chunks(data[:MIB]))
        store: Any = a.store
        for key in s3_keys(a):
            store.client.delete_object(Bucket=store.bucket, Key=key)
        with pytest.raises(PicshaError) as refused:
            await b.uploads.append(owner, upload.id, offset=MIB, chunks=chunks(data[MIB:]))
        assert refused.value.code == "upload_bytes_missing"
        assert (await b.uploads.get(owner, upload.id)).offset == MIB


async def test_partial_uploads_written_on_one_server_are_joined_on_the_other(
    moto_endpoint: str, tmp_path: Path
) -> None:
    first, second = text_file(6 * MIB + 3, b"the first half.\n"), text_file(2 * MIB, b"the second half.\n")
    async with servers(moto_endpoint, tmp_path) as (a, b):
        owner = Principal(account_id=a.owner_account_id)
        parts = []
        for data in (first, second):
            part = await a.uploads.create(owner, UploadCreate(length=len(data), concat=ConcatKind.PARTIAL))
            await a.uploads.append(owner, part.id, offset=0, chunks=chunks(data[:MIB]))
            done = await a.uploads.append(owner, part.id, offset=MIB, chunks=chunks(data[MIB:]))
            assert done.status is UploadStatus.COMPLETE
            parts.append(part.id)
        joined = await b.uploads.create(owner, UploadCreate(concat=ConcatKind.FINAL, parts=parts))
        finished = await b.uploads.finish(owner, joined.id)
        asset = await b.uploads.finished_asset(owner, finished.id)
        assert asset.meta.sha256 == hashlib.sha256(first + second).hexdigest()
        assert s3_keys(a) == [] and multipart_uploads(a) == []
