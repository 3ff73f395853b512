"""Uploads analysed in the background on a real engine: status, job steps, ``ai`` fields, ledger, index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sqlalchemy as sa

from engine import Engine
from engine.assets import IngestConfig, IngestOptions
from engine.assets.models import AssetStatus
from engine.auth import Principal
from engine.catalog import tables
from engine.jobs import JobStatus
from engine.search.models import SearchFilters, SearchRequest
from tests.engine.enrich.conftest import jpeg, text_image
from tests.factories import pdf_bytes


async def upload(engine: Engine, principal: Principal, data: bytes, name: str, **config: bool) -> str:
    path = engine.work_dir / name
    path.write_bytes(data)
    asset = await engine.ingest.from_path(principal, path, IngestOptions(config=IngestConfig(**config)))
    return asset.id


async def ledger_steps(engine: Engine, asset_id: str) -> list[str]:
    u = tables.usage_events
    async with engine.catalog.connect() as conn:
        rows = (await conn.execute(sa.select(u.c.detail).where(u.c.asset_id == asset_id, u.c.kind == "ai_operation"))).all()
    return sorted(row.detail["step"] for row in rows)


async def test_a_photo_is_analysed_in_the_background(brain: Engine, astronaut: np.ndarray) -> None:
    owner = Principal(account_id=brain.owner_account_id)
    brain.enrich.settings.max_side_px = 320  # analysed smaller than the 512px original: boxes must scale back
    path = brain.work_dir / "astronaut.jpg"
    path.write_bytes(jpeg(astronaut))
    asset = await brain.ingest.from_path(owner, path, IngestOptions(config=IngestConfig(ocr=False)))
    assert asset.status is AssetStatus.PROCESSING
    assert await brain.enrich.wait_for_asset(owner.account_id, asset.id, 120)

    done = await brain.assets.get(owner, asset.id)
    job = await brain.jobs.latest_for_asset(owner.account_id, asset.id)
    assert job is not None and job.status is JobStatus.READY, job
    steps = {step.name: step for step in job.steps}
    assert list(steps) == ["load", "colors", "faces", "safe_search", "clip", "caption", "index"]  # no ocr: turned off
    assert steps["clip"].ok and steps["clip"].skipped == "no CLIP weights"
    assert all(step.ok and step.duration_ms > 0 for step in job.steps)
    assert done.status is AssetStatus.READY
    assert done.ai.faces is not None and done.ai.faces["count"] == 1
    box = done.ai.faces["boxes"][0]
    assert set(box) == {"x", "y", "w", "h", "score"}
    assert 170 < box["x"] + box["w"] / 2 < 270 and 80 < box["y"] + box["h"] / 2 < 200  # the original's pixels
    assert done.ai.safe_search == "verified" and done.ai.ocr_text is None
    extra = done.ai.model_dump()
    assert extra["source"] == "offline" and done.ai.caption and "1 face" in done.ai.caption
    assert len(extra["phash"]) == 16 and extra["colors"]
    assert await ledger_steps(brain, asset.id) == ["faces", "index", "safe_search"]
    assert done.cost != "$0.0000"


async def test_a_photo_is_found_by_its_words_and_by_its_place(brain: Engine) -> None:
    from tests.factories import jpeg_with_exif

    owner = Principal(account_id=brain.owner_account_id)
    flags = dict(auto_tag=False, safe_search=False, auto_summarize=False)
    sign = await upload(brain, owner, jpeg(text_image(["PLATFORM 9", "KINGS CROSS"])), "sign.jpg", **flags)
    trip = await upload(brain, owner, jpeg_with_exif(lat=52.2053, lon=0.1218), "trip.jpg", ocr=False, **flags)
    for asset_id in (sign, trip):
        assert await brain.enrich.wait_for_asset(owner.account_id, asset_id, 120)
    sign_asset = await brain.assets.get(owner, sign)
    assert "PLATFORM 9" in (sign_asset.ai.ocr_text or "")

    by_text = await brain.search.search(owner, SearchRequest(query="kings cross platform"))
    assert by_text.results[0].id == sign and "fts" in by_text.paths and "text_vector" in by_text.paths
    by_place = await brain.search.search(owner, SearchRequest(query="photos in Cambridge"))
    assert [hit.id for hit in by_place.results] == [trip]
    assert by_place.filters.place == "Cambridge" and by_place.filters.type is not None
    near = await brain.search.search(owner, SearchRequest(filters=SearchFilters(near={"lat": 52.2, "lon": 0.12, "km": 5})))
    assert [hit.id for hit in near.results] == [trip]
    by_camera = await brain.search.search(owner, SearchRequest(query="canon eos"))  # EXIF camera in the text
    assert by_camera.results[0].id == trip


async def test_a_pdf_is_summarised_offline_and_searchable(brain: Engine, tmp_path: Path) -> None:
    owner = Principal(account_id=brain.owner_account_id)
    doc = await upload(brain, owner, pdf_bytes(1), "scan.pdf")
    assert await brain.enrich.wait_for_asset(owner.account_id, doc, 120)
    job = await brain.jobs.latest_for_asset(owner.account_id, doc)
    assert job is not None and [s.name for s in job.steps] == ["load", "ocr", "caption", "index"]
    assert job.steps[2].skipped == "no text to summarize"  # a blank scanned page


async def test_deleting_an_asset_removes_its_index_rows(brain: Engine) -> None:
    owner = Principal(account_id=brain.owner_account_id)
    asset_id = await upload(brain, owner, jpeg(text_image(["UNIQUEWORD"])), "w.jpg", auto_tag=False,
                            safe_search=False, auto_summarize=False, vectorize=False)
    assert await brain.enrich.wait_for_asset(owner.account_id, asset_id, 120)
    assert [h.id for h in (await brain.search.search(owner, SearchRequest(query="uniqueword"))).results] == [asset_id]
    await brain.assets.delete(owner, asset_id)
    assert (await brain.search.search(owner, SearchRequest(query="uniqueword"))).results == []
    assert await brain.search.index.count(owner.account_id, f"id = '{asset_id}'") == 0


async def test_a_skill_runs_again_on_demand(brain: Engine, chelsea: np.ndarray) -> None:
    owner = Principal(account_id=brain.owner_account_id)
    asset_id = await upload(brain, owner, jpeg(chelsea), "cat.jpg", auto_tag=False, safe_search=False,
                            auto_summarize=False, vectorize=False, ocr=False)
    before = await brain.assets.get(owner, asset_id)
    assert before.status is AssetStatus.READY and "colors" not in before.ai.model_dump()
    run = await brain.enrich.run_skill(owner, asset_id, "colors")
    assert run.succeeded and [s.name for s in run.job.steps] == ["load", "colors", "index"]
    assert run.asset.ai.model_dump()["colors"]


async def test_a_scanned_pdf_is_read_by_ocr_and_summarised(brain: Engine) -> None:
    import io

    from PIL import Image

    owner = Principal(account_id=brain.owner_account_id)
    page = Image.fromarray(text_image(["Minutes of the budget meeting.", "The committee approved the plan."],
                                      size=(1200, 300)))
    out = io.BytesIO()
    page.save(out, "PDF")
    doc = await upload(brain, owner, out.getvalue(), "minutes.pdf", auto_tag=False, safe_search=False)
    assert await brain.enrich.wait_for_asset(owner.account_id, doc, 120)
    done = await brain.assets.get(owner, doc)
    assert "budget meeting" in (done.ai.ocr_text or "")
    assert done.ai.summary and "budget meeting" in done.ai.summary and done.ai.model_dump()["source"] == "offline"
    assert [h.id for h in (await brain.search.search(owner, SearchRequest(query="committee budget"))).results] == [doc]


async def test_a_text_file_gets_an_extractive_summary(brain: Engine) -> None:
    owner = Principal(account_id=brain.owner_account_id)
    text = ("Solar panels convert sunlight into electricity for the house. The roof faces south. "
            "An inverter feeds surplus electricity from the solar panels into the grid. The cat sleeps.")
    asset_id = await upload(brain, owner, text.encode(), "energy.txt", vectorize=False)
    assert await brain.enrich.wait_for_asset(owner.account_id, asset_id, 120)
    job = await brain.jobs.latest_for_asset(owner.account_id, asset_id)
    assert job is not None and [s.name for s in job.steps] == ["load", "caption", "index"]
    summary = (await brain.assets.get(owner, asset_id)).ai.summary or ""
    assert "Solar panels convert sunlight" in summary and "The cat sleeps" not in summary


async def test_an_unreadable_original_fails_the_job_at_the_load_step(brain: Engine) -> None:
    owner = Principal(account_id=brain.owner_account_id)
    asset_id = await upload(brain, owner, jpeg(text_image(["HELLO"])), "x.jpg", auto_tag=False, safe_search=False,
                            auto_summarize=False, vectorize=False, ocr=False)
    record = await brain.assets.content(asset_id, owner)
    async with brain.store.local_path(record.blob_key) as path:
        path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")  # the stored original rots on disk
    run = await brain.enrich.run_skill(owner, asset_id, "ocr")
    assert not run.succeeded and run.job.status is JobStatus.FAILED
    assert run.job.error is not None and run.job.error.startswith("step 'load' failed")
    assert [s.name for s in run.job.steps] == ["load"] and run.asset.status is AssetStatus.FAILED
    where = f"id = '{asset_id}' AND status = 'failed'"
    assert await brain.search.index.count(owner.account_id, where) == 1


async def test_an_edit_updates_the_indexed_words_and_their_vector(brain: Engine) -> None:
    from engine.assets.models import AssetPatch
    from engine.enrich.derived_text import derived_text

    owner = Principal(account_id=brain.owner_account_id)
    asset_id = await upload(brain, owner, jpeg(text_image(["HELLO"])), "plain.jpg", auto_tag=False, safe_search=False,
                            auto_summarize=False, ocr=False)
    assert await brain.enrich.wait_for_asset(owner.account_id, asset_id, 120)
    before = np.asarray((await brain.enrich.index.stored_vectors(owner.account_id, asset_id))["text_vec"])

    await brain.assets.update(owner, asset_id, AssetPatch(description="a red bicycle leaning on a lamp post"))

    after = np.asarray((await brain.enrich.index.stored_vectors(owner.account_id, asset_id))["text_vec"])
    record = await brain.enrich._record(owner.account_id, asset_id)
    expected = brain.enrich.steps.models.embed_texts([derived_text(record)])[0]
    assert "bicycle" in derived_text(record)
    assert float(before @ after) < 0.99 and float(after @ expected) > 0.999
    found = await brain.search.search(owner, SearchRequest(query="bicycle"))
    assert found.results and found.results[0].id == asset_id
