"""Listing a blob store (the local folder and S3 on moto's server): keys, sizes, times, prefixes, many pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


from engine.storage import BlobStore, StoredBlob, derivatives_prefix, original_key




async def listed(store: BlobStore, prefix: str = "") -> dict[str, StoredBlob]:
    return {blob.key: blob async for blob in store.list_keys(prefix)}


async def test_lists_every_key_with_its_size_and_time(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    keys = {original_key("ab" + "0" * 62): b"one", original_key("cd" + "1" * 62): b"three", "derivatives/as_1/x.webp": b"22"}
    for key, data in keys.items():
        await store.put_bytes(key, data)
    found = await listed(store)
    assert set(found) == set(keys)
    assert {key: blob.size for key, blob in found.items()} == {key: len(data) for key, data in keys.items()}
    assert all(before < blob.modified < datetime.now(UTC) + timedelta(minutes=5) for blob in found.values())


async def test_a_prefix_lists_only_its_keys(store: BlobStore) -> None:
    for key in ("originals/ab/ab1", "originals/ac/ac1", "derivatives/as_1/a.png", "derivatives/as_12/b.png"):
        await store.put_bytes(key, b"x")
    assert set(await listed(store, "originals/")) == {"originals/ab/ab1", "originals/ac/ac1"}
    assert set(await listed(store, derivatives_prefix("as_1"))) == {"derivatives/as_1/a.png"}
    assert set(await listed(store, "derivatives/as_1")) == {"derivatives/as_1/a.png", "derivatives/as_12/b.png"}
    assert await listed(store, "nothing/") == {}


async def test_a_listing_goes_over_many_pages(store: BlobStore) -> None:
    keys = {f"derivatives/as_many/{n:05d}.webp" for n in range(1105)}  # more than one page of 1,000
    for key in keys:
        await store.put_bytes(key, b"x")
    assert set(await listed(store, "derivatives/")) == keys


async def test_deleted_keys_are_not_listed(store: BlobStore) -> None:
    await store.put_bytes("originals/ab/gone", b"x")
    await store.put_bytes("derivatives/as_1/a.png", b"x")
    await store.delete("originals/ab/gone")
    await store.delete_prefix(derivatives_prefix("as_1"))
    assert await listed(store) == {}
