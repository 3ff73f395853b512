"""One suite for every blob store: the local folder and S3 (moto's server on 127.0.0.1)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from engine.storage import BlobStore, derivatives_prefix, original_key
from engine.storage.local import LocalBlobStore
from engine.storage.s3 import S3BlobStore
from tests.s3 import s3_settings




def staged(store: BlobStore, data: bytes) -> Path:
    path = store.tmp_dir / f"staged-{uuid.uuid4().hex}"  # type: ignore[attr-defined]
    path.write_bytes(data)
    return path


async def test_put_file_then_read_whole_and_ranges(store: BlobStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = staged(store, data)
    await store.put_file("originals/ab/abc", path)
    assert not path.exists(), "the staged file is consumed"
    assert await store.size("originals/ab/abc") == len(data)
    assert await store.read_bytes("originals/ab/abc") == data
    middle = b"".join([c async for c in store.read("originals/ab/abc", 1000, 2_000_999)])
    assert middle == data[1000:2_001_000]
    tail = b"".join([c async for c in store.read("originals/ab/abc", len(data) - 5)])
    assert tail == data[-5:]


async def test_large_file_goes_up_in_parts(store: BlobStore) -> None:
    data = os.urandom(11 * 1024 * 1024)  # over the 5 MiB multipart threshold of the S3 store
    await store.put_file("originals/big", staged(store, data))
    assert await store.read_bytes("originals/big") == data


async def test_existing_key_is_kept(store: BlobStore) -> None:
    await store.put_bytes("k", b"first")
    path = staged(store, b"second")
    await store.put_file("k", path)
    assert await store.read_bytes("k") == b"first"
    assert not path.exists()


async def test_missing_blob(store: BlobStore) -> None:
    assert await store.size("nope") is None
    assert not await store.exists("nope")
    await store.delete("nope")
    with pytest.raises(FileNotFoundError):
        await store.read_bytes("nope")
    with pytest.raises(FileNotFoundError):
        async with store.local_path("nope"):
            pass


async def test_delete(store: BlobStore) -> None:
    await store.put_bytes("gone", b"x")
    await store.delete("gone")
    assert not await store.exists("gone")


async def test_delete_prefix_removes_only_that_folder(store: BlobStore) -> None:
    for key in ("derivatives/as_a/1.webp", "derivatives/as_a/2.png", "derivatives/as_ab/1.webp"):
        await store.put_bytes(key, b"x")
    await store.delete_prefix(derivatives_prefix("as_a"))
    assert not await store.exists("derivatives/as_a/1.webp") and not await store.exists("derivatives/as_a/2.png")
    assert await store.exists("derivatives/as_ab/1.webp")  # a longer id with the same start is untouched
    await store.delete_prefix(derivatives_prefix("as_missing"))  # nothing there: not an error


async def test_local_path_gives_the_bytes(store: BlobStore) -> None:
    await store.put_bytes("derivatives/a/b.webp", b"webp-bytes")
    async with store.local_path("derivatives/a/b.webp") as path:
        assert path.read_bytes() == b"webp-bytes"


def test_original_keys_are_content_addressed() -> None:
    sha = "ab" + "0" * 62
    assert original_key(sha) == f"originals/ab/{sha}"


def test_local_store_refuses_keys_outside_its_folder(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs", tmp_path / "tmp")
    with pytest.raises(ValueError):
        store._path("../../etc/passwd")


async def test_local_writes_are_never_partial(tmp_path: Path) -> None:
    """A blob appears by rename after fsync: the target path never holds a partial file."""
    store = LocalBlobStore(tmp_path / "blobs", tmp_path / "tmp")
    await store.put_bytes("a/b", b"complete")
    assert (tmp_path / "blobs" / "a" / "b").read_bytes() == b"complete"
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_s3_prefix_is_used(moto_endpoint: str, tmp_path: Path) -> None:
    settings = s3_settings(moto_endpoint, prefix="tenant-1")
    store = S3BlobStore(settings, tmp_path)
    await store.put_bytes("originals/x", b"data")
    listed = store.client.list_objects_v2(Bucket=settings.s3_bucket)["Contents"]
    assert [obj["Key"] for obj in listed] == ["tenant-1/originals/x"]
