"""Uploads that analyse in the background over REST: 202 + job, wait=true, jobs, skills."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.enrich.settings import AnalysisDefaults
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, make_settings

ON = {"auto_tag": True, "auto_summarize": True, "vectorize": False, "safe_search": False, "ocr": False}


@pytest.fixture
async def brain_api(tmp_path: Path) -> AsyncIterator[ApiClient]:
    settings = make_settings(tmp_path)
    settings.enrich.defaults = AnalysisDefaults(**ON)
    async with app_client(settings) as client:
        yield client


async def test_upload_answers_202_processing_then_the_job_finishes(brain_api: ApiClient) -> None:
    headers = await brain_api.account()
    created = await brain_api.http.post("/v1/assets", headers=headers, files={"file": ("g.png", image_bytes(64, 48, "png"))})
    assert created.status_code == 202, created.text
    assert created.json()["status"] == "processing" and created.headers["location"].startswith("/v1/jobs/job_")
    job_url = created.headers["location"]
    job_id = job_url.rsplit("/", 1)[1]
    await brain_api.engine.jobs.wait(job_id, 120)
    job = (await brain_api.http.get(job_url, headers=headers)).json()
    assert job["status"] == "ready" and job["asset_id"] == created.json()["id"] and job["error"] is None
    assert "job_status" not in job and "assets" not in job  # the spec's scrape fields are for scrape jobs only
    assert [s["name"] for s in job["steps"]] == ["load", "colors", "faces", "clip", "caption", "index"]
    assert all(set(s) >= {"name", "ok", "error", "duration_ms"} for s in job["steps"])
    asset = (await brain_api.http.get(f"/v1/assets/{created.json()['id']}", headers=headers)).json()
    assert asset["status"] == "ready" and asset["ai"]["caption"] and asset["ai"]["source"] == "offline"
    other = await brain_api.account("other")
    assert (await brain_api.http.get(job_url, headers=other)).json()["error"]["code"] == "job_not_found"


async def test_wait_true_answers_200_when_ready(brain_api: ApiClient) -> None:
    headers = await brain_api.account()
    created = await brain_api.http.post(
        "/v1/assets", headers=headers, files={"file": ("g.png", image_bytes(64, 48, "png"))}, data={"wait": "true"}
    )
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "ready" and created.json()["ai"]["colors"]


async def test_flags_off_per_request_give_201_ready(brain_api: ApiClient) -> None:
    headers = await brain_api.account()
    config = '{"auto_tag": false, "auto_summarize": false}'
    created = await brain_api.http.post(
        "/v1/assets", headers=headers, files={"file": ("g.png", image_bytes(8, 8, "png"))}, data={"config": config}
    )
    assert created.status_code == 201 and created.json()["status"] == "ready"


async def test_skills_are_listed_and_one_runs_again(brain_api: ApiClient) -> None:
    headers = await brain_api.account()
    skills = (await brain_api.http.get("/v1/assets/skills", headers=headers)).json()
    assert {"colors", "faces", "safe_search", "ocr", "clip", "caption", "place", "index"} == {s["name"] for s in skills}
    assert all(s["description"] and s["steps"] and s["types"] for s in skills)
    created = await brain_api.http.post(
        "/v1/assets", headers=headers, files={"file": ("g.png", image_bytes(8, 8, "png"))},
        data={"config": '{"auto_tag": false, "auto_summarize": false}'},
    )
    asset_id = created.json()["id"]
    ran = await brain_api.http.post(f"/v1/assets/{asset_id}/skills/colors/run", headers=headers, json={})
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert body["succeeded"] and body["skill"] == "colors" and body["asset"]["ai"]["colors"]
    assert [s["name"] for s in body["job"]["steps"]] == ["load", "colors", "index"]
    missing = await brain_api.http.post(f"/v1/assets/{asset_id}/skills/teleport/run", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "skill_not_found"
    assert "colors" in missing.json()["error"]["message"]
    gone = await brain_api.http.post("/v1/assets/as_nothere/skills/colors/run", headers=headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "asset_not_found"
