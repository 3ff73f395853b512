"""Work after a commit (the search index following an edit or a delete) never fails the request that
committed: with the index broken, PATCH and DELETE still answer 2xx, the blob still goes, and the index
catches up through an ``event.retry`` job once it works again."""

from __future__ import annotations

import os

import sqlalchemy as sa

from engine.catalog import tables
from engine.storage import original_key
from tests.conftest import ApiClient
from tests.factories import image_bytes


async def _retry_jobs(api: ApiClient) -> list[str]:
    j = tables.jobs
    async with api.engine.catalog.connect() as conn:
        return list((await conn.execute(sa.select(j.c.id).where(j.c.kind == "event.retry"))).scalars())


async def _search(api: ApiClient, headers: dict[str, str], query: str) -> list[str]:
    found = await api.http.post("/v1/search", headers=headers, json={"query": query})
    assert found.status_code == 200, found.text
    return [hit["id"] for hit in found.json()["results"]]


async def test_edits_and_deletes_succeed_while_the_index_is_broken_and_it_catches_up(api: ApiClient) -> None:
    headers = await api.account()
    kept = (await api.http.post("/v1/assets", headers=headers, files={"file": ("kept.png", image_bytes(32, 32, "png"))})).json()
    gone = (await api.http.post("/v1/assets", headers=headers, files={"file": ("gone.png", image_bytes(48, 32, "png"))})).json()
    index = api.engine.settings.data_dir / "index"
    os.rename(index, index.with_name("index.saved"))
    index.write_text("not a folder: every index write fails")  # a real fault under the index, not a mock
    try:
        edited = await api.http.patch(f"/v1/assets/{kept['id']}", headers=headers, json={"tags": ["lighthouse"]})
        deleted = await api.http.delete(f"/v1/assets/{gone['id']}?purge=true", headers=headers)
        blob_left = await api.engine.store.exists(original_key(gone["meta"]["sha256"]))
        retries = await _retry_jobs(api)
    finally:
        index.unlink()
        os.rename(index.with_name("index.saved"), index)
    assert edited.status_code == 200 and edited.json()["tags"] == ["lighthouse"]
    assert deleted.status_code == 200 and not blob_left
    assert len(retries) == 2
    for job_id in retries:
        assert await api.engine.jobs.wait(job_id, 60)
    jobs = [await api.engine.jobs.store.find(job_id) for job_id in retries]
    assert [job.status.value for job in jobs if job] == ["ready", "ready"], [job.error for job in jobs if job]
    assert kept["id"] in await _search(api, headers, "lighthouse")
    assert gone["id"] not in await _search(api, headers, "gone")

