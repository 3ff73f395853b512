"""The search index on S3 (moto's server on 127.0.0.1), written by several OS processes at once.

moto answers a conditional PUT (``If-None-Match: *``) on a key that exists with 412, as S3 does, so Lance's
manifest commits conflict there as they would on AWS. moto checks the condition and then stores the
object in two steps with no lock between them, though, so two PUTs of one key can in rare interleavings
both succeed (seen with the interpreter's switch interval lowered; S3 itself decides atomically). The
``s3`` fixture makes that check-and-store atomic, so these tests judge Lance and Picsha, not moto's race.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import lancedb
import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.search.commits import with_conflict_retries
from engine.search.index import SearchIndex, has_primary_key, schema
from engine.search.models import IndexRow
from engine.search.object_store import index_storage_options
from engine.search.settings import SearchSettings
from engine.settings import Settings, StorageSettings
from tests.factories import image_bytes, make_settings
from tests.s3 import s3_settings

WRITER = Path(__file__).with_name("index_writer.py")
ACCOUNT = "acct_shared"


@dataclass
class S3:
    storage: StorageSettings
    options: dict[str, str]
    conflicts: list[str]  # keys whose conditional PUT moto refused (412)

    def uri(self, path: str = "index") -> str:
        return f"s3://{self.storage.s3_bucket}/{path}"


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    from moto.s3.exceptions import PreconditionFailed
    from moto.s3.responses import S3Response

    storage = s3_settings(moto_endpoint)
    lock, conflicts = threading.Lock(), []
    put_object = S3Response.put_object

    def atomic_put_object(self: S3Response) -> Any:
        if "If-None-Match" not in self.headers and "If-Match" not in self.headers:
            return put_object(self)
        with lock:
            try:
                return put_object(self)
            except PreconditionFailed:
                conflicts.append(self.parse_key_name())
                raise

    monkeypatch.setattr(S3Response, "put_object", atomic_put_object)
    options = {"aws_endpoint": moto_endpoint, "allow_http": "true", "aws_region": "us-east-1",
               "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    yield S3(storage=storage, options=options, conflicts=conflicts)


def row(asset_id: str, text: str, **fields: object) -> IndexRow:
    base: dict[str, object] = dict(id=asset_id, account_id=ACCOUNT, type="image", status="ready",
                                   filename=f"{asset_id}.jpg", created_at=datetime(2025, 6, 1, tzinfo=UTC), text=text)
    return IndexRow(**(base | fields))  # type: ignore[arg-type]


async def open_index(s3: S3, **options: Any) -> SearchIndex:
    return await SearchIndex.open(s3.uri(), "assets", clip_dim=8, storage_options=s3.options, **options)


async def all_ids(s3: S3) -> list[str]:
    """Every id in the account's table, read by a fresh index (duplicates kept)."""
    table = await (await open_index(s3)).table_for(ACCOUNT)
    assert table is not None
    return [r["id"] for r in await table.query().select(["id"]).to_list()]


def run_writers(s3: S3, tmp_path: Path, ids_by_writer: dict[str, list[str]]) -> list[dict[str, float]]:
    """One OS process per writer, each with its own SearchIndex on the same URI, upserting in lockstep: step n
    starts in every process at once (see index_writer.py)."""
    steps = tmp_path / "steps"
    steps.mkdir()
    env = {**os.environ, "INDEX_WRITER_STORAGE_OPTIONS": json.dumps(s3.options)}
    processes = [subprocess.Popen([sys.executable, str(WRITER), s3.uri(), ACCOUNT, writer, str(steps), *ids],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for writer, ids in ids_by_writer.items()]
    for number in range(max(len(ids) for ids in ids_by_writer.values())):
        waiting = [w for w, ids in ids_by_writer.items() if number < len(ids)]
        deadline = time.monotonic() + 120
        while not all((steps / f"{w}.{number}.ready").exists() for w in waiting):
            failed = [p for p in processes if p.poll() not in (None, 0)]
            assert not failed and time.monotonic() < deadline, failed and failed[0].communicate()[1][-3000:]
            time.sleep(0.002)
        (steps / f"{number}.go").touch()
    spans = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        spans.append(json.loads(out.strip().splitlines()[-1]))
    return spans


def overlapped(spans: list[dict[str, float]]) -> bool:
    return max(s["started"] for s in spans) < min(s["finished"] for s in spans)


def test_moto_refuses_a_conditional_put_on_an_existing_key(s3: S3) -> None:
    """What Lance's commits rely on; if moto stopped honouring it, the tests below would prove nothing."""
    client = boto3.client("s3", endpoint_url=s3.options["aws_endpoint"], region_name="us-east-1")
    bucket = s3.storage.s3_bucket
    client.put_object(Bucket=bucket, Key="manifest", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket=bucket, Key="manifest", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert client.get_object(Bucket=bucket, Key="manifest")["Body"].read() == b"first"


async def test_upsert_search_and_delete_on_s3(s3: S3) -> None:
    index = await open_index(s3)
    await index.upsert(row("as_beach", "sunny beach with palm trees", tags=["holiday"]))
    await index.upsert(row("as_barn", "an old red barn"))
    await index.upsert(row("as_beach", "sunny beach at dusk", tags=["holiday", "dusk"]))
    assert [i for i, _ in await index.full_text(ACCOUNT, "beach", None, 10)] == ["as_beach"]
    assert (await index.rows(ACCOUNT, ["as_beach"]))["as_beach"]["tags"] == ["holiday", "dusk"]
    await index.delete(ACCOUNT, ["as_beach"])
    assert await index.full_text(ACCOUNT, "beach", None, 10) == []
    assert sorted(await all_ids(s3)) == ["as_barn"]
    await index.maintain()
    assert await index.count(ACCOUNT) == 1
    listed = boto3.client("s3", endpoint_url=s3.options["aws_endpoint"], region_name="us-east-1").list_objects_v2(
        Bucket=s3.storage.s3_bucket, Prefix="index/assets-acct_shared.lance/_versions/")
    assert listed["KeyCount"] > 0, "the table lives in the bucket"


@pytest.mark.slow
async def test_two_processes_upserting_different_rows_lose_none(s3: S3, tmp_path: Path) -> None:
    ids = {writer: [f"as_{writer}_{n:02d}" for n in range(24)] for writer in ("left", "right")}
    spans = await asyncio.to_thread(run_writers, s3, tmp_path, ids)
    assert overlapped(spans), f"the writers did not write at the same time: {spans}"
    found = await all_ids(s3)
    assert sorted(found) == sorted(ids["left"] + ids["right"]), "every row of both processes, each once"
    assert any("_versions/" in key for key in s3.conflicts), "commits raced (a manifest PUT was refused)"


@pytest.mark.slow
async def test_two_processes_upserting_the_same_ids_leave_one_row_each(s3: S3, tmp_path: Path) -> None:
    shared = [f"as_same_{n:02d}" for n in range(16)]
    spans = await asyncio.to_thread(run_writers, s3, tmp_path, {"left": shared, "right": shared})
    assert overlapped(spans), f"the writers did not write at the same time: {spans}"
    found = await all_ids(s3)
    assert sorted(found) == shared, f"one row per id, got {len(found)} rows for {len(shared)} ids"
    rows = await (await open_index(s3)).rows(ACCOUNT, shared)
    assert {r["filename"].split("-")[0] for r in rows.values()} <= {"left", "right"}


async def test_another_process_write_is_seen_without_reopening(s3: S3, tmp_path: Path) -> None:
    reader = await open_index(s3, read_consistency_s=0)
    await reader.upsert(row("as_first", "first row"))
    assert await reader.count(ACCOUNT) == 1
    await asyncio.to_thread(run_writers, s3, tmp_path, {"other": ["as_second"]})
    assert await reader.count(ACCOUNT) == 2
    assert [i for i, _ in await reader.full_text(ACCOUNT, "number", None, 10)] == ["as_second"]


async def test_a_compaction_that_loses_to_another_is_retried(s3: S3, caplog: pytest.LogCaptureFixture) -> None:
    """Two processes' maintenance compacting one table: the one that commits second conflicts (a Rewrite
    preempted by a Rewrite) and is run again on the latest version instead of failing."""
    first, second = await open_index(s3), await open_index(s3)  # separate connections, no read refresh
    for n in range(6):
        await first.upsert(row(f"as_{n}", f"row {n}"))
    await second.upsert(row("as_6", "row 6"))  # second's table handle stays at this version
    await first.maintain()
    with caplog.at_level(logging.INFO, logger="picsha.search.index"):
        await second.maintain()
    assert any("commit conflict" in record.getMessage() for record in caplog.records)
    assert sorted(await all_ids(s3)) == [f"as_{n}" for n in range(7)]


async def test_a_table_made_before_the_primary_key_is_given_it(s3: S3) -> None:
    old = pa.schema([pa.field("id", pa.string(), nullable=False) if f.name == "id" else f for f in schema(8)])
    db = await lancedb.connect_async(s3.uri(), storage_options=s3.options)
    await db.create_table(f"assets-{ACCOUNT}", schema=old)
    index = await open_index(s3)
    await index.upsert(row("as_old", "made before"))
    assert await has_primary_key(await index.table_for(ACCOUNT))
    assert await all_ids(s3) == ["as_old"]


class FlakyTable:
    """Fails its first ``conflicts`` writes the way Lance reports a lost commit race."""

    MESSAGES = ("lance error: Retryable commit conflict for version {n}: This Rewrite transaction was preempted",
                "lance error: Incompatible transaction: This CreateIndex transaction is incompatible with concurrent "
                "transaction Overwrite at version {n}.",
                "lance error: Commit conflict for version {n}: This Update transaction was preempted")

    def __init__(self, conflicts: int, error: Exception | None = None):
        self.conflicts, self.error, self.calls, self.refreshes = conflicts, error, 0, 0

    async def write(self) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.calls <= self.conflicts:
            raise RuntimeError(self.MESSAGES[(self.calls - 1) % 3].format(n=self.calls))
        return "written"

    async def checkout_latest(self) -> None:
        self.refreshes += 1


async def test_conflict_retries_are_bounded_and_refresh_first() -> None:
    table = FlakyTable(conflicts=3)
    assert await with_conflict_retries(table.write, table=table, what="test", backoff_s=0.001) == "written"
    assert (table.calls, table.refreshes) == (4, 3)

    hopeless = FlakyTable(conflicts=100)
    with pytest.raises(RuntimeError, match="Retryable commit conflict for version 4"):
        await with_conflict_retries(hopeless.write, table=hopeless, what="test", attempts=4, backoff_s=0.001)
    assert hopeless.calls == 4

    broken = FlakyTable(conflicts=0, error=OSError("no such bucket"))
    with pytest.raises(OSError, match="no such bucket"):
        await with_conflict_retries(broken.write, table=broken, what="test", backoff_s=0.001)
    assert broken.calls == 1, "only commit conflicts are retried"


def test_storage_options_come_from_the_s3_blob_settings_unless_given(s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    derived = index_storage_options(s3.uri(), SearchSettings(), s3.storage)
    assert derived == s3.options
    assert index_storage_options("/var/picsha/index", SearchSettings(), s3.storage) == {}
    given = SearchSettings(storage_options={"aws_region": "eu-west-1"})
    assert index_storage_options(s3.uri(), given, s3.storage) == {"aws_region": "eu-west-1"}
    assert index_storage_options(s3.uri(), SearchSettings(), StorageSettings()) == {}, "blobs on disk: nothing to share"

    monkeypatch.setenv("PICSHA_SEARCH__URI", "s3://bucket/index")
    monkeypatch.setenv("PICSHA_SEARCH__STORAGE_OPTIONS", json.dumps({"aws_endpoint": "http://127.0.0.1:5000",
                                                                     "allow_http": "true"}))
    monkeypatch.setenv("PICSHA_SEARCH__READ_CONSISTENCY_S", "0")
    search = Settings().search
    assert search.storage_options == {"aws_endpoint": "http://127.0.0.1:5000", "allow_http": "true"}
    assert (search.uri, search.read_consistency_s) == ("s3://bucket/index", 0)


async def test_an_engine_with_s3_blobs_keeps_its_index_in_the_same_bucket(s3: S3, tmp_path: Path) -> None:
    """No storage_options: the index takes the blob store's endpoint, region and keys."""
    settings = make_settings(tmp_path, storage=s3.storage, search=SearchSettings(uri=s3.uri("picsha-index")))
    source = tmp_path / "lighthouse.png"
    source.write_bytes(image_bytes(200, 100, "png"))
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        asset = await engine.ingest.from_path(owner, source, IngestOptions(description="a red lighthouse"))
        hits = [i for i, _ in await engine.search.index.full_text(owner.account_id, "lighthouse", None, 10)]
        assert hits == [asset.id]
    assert not (settings.data_dir / "index").exists(), "no local index folder"
