"""/v1/scrape over REST against the local test site: 202 + job, the job's answer, the ZIP, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import ApiClient, app_client
from tests.engine.scrape.site import IMAGES, Site, scrape_settings


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as served:
        yield served


@pytest.fixture
async def scrape_api(tmp_path: Path, site: Site) -> AsyncIterator[ApiClient]:
    async with app_client(scrape_settings(tmp_path, site)) as client:
        yield client


async def test_scrape_answers_202_and_the_job_in_the_spec_shape(scrape_api: ApiClient, site: Site) -> None:
    headers = await scrape_api.account()
    started = await scrape_api.http.post("/v1/scrape", headers=headers, json={
        "url": site.url("/"), "sniper_mode": False, "crawl_depth": 1, "keyword_filter": "level"})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["status"] == "queued" and started.headers["x-job-id"] == body["job_id"]
    assert body["poll_url"] == f"/v1/jobs/{body['job_id']}"
    async with scrape_api.http.stream("GET", f"/v1/jobs/{body['job_id']}/progress", headers=headers) as stream:
        events = [json.loads(line[5:]) async for line in stream.aiter_lines() if line.startswith("data:")]
    assert events[-1]["status"] == "ready" and "pages visited" in (events[-1]["message"] or "")
    job = (await scrape_api.http.get(body["poll_url"], headers=headers)).json()
    result = job["result"]
    assert result["status"] == "completed" and result["assets"]["count"] == 1
    item = result["assets"]["items"][0]
    assert set(item) >= {"id", "filename", "url", "type", "size", "ai_label", "download_url"}
    assert item["url"] == site.url("/img/level1.jpg") and item["type"] == "image"
    assert result["pages_visited"] == 2 and result["bytes_fetched"] > 0
    assert result["skipped_count"]["filtered"] >= 10
    assert all(set(s) >= {"url", "reason"} for s in result["skipped"])
    # the spec's fields at the top level too: its status words, the files, what was skipped
    assert job["status"] == "completed" and job["job_status"] == "ready" and job["success"] is True
    assert job["job_id"] == job["id"] == body["job_id"] and job["kind"] == "scrape"
    assert job["assets"] == result["assets"] and job["skipped_count"] == result["skipped_count"]
    assert job["pages_visited"] == 2 and job["bytes_fetched"] == result["bytes_fetched"]
    other = await scrape_api.account("other")
    assert (await scrape_api.http.get(body["poll_url"], headers=other)).json()["error"]["code"] == "job_not_found"


async def test_download_streams_the_files_as_one_zip(scrape_api: ApiClient, site: Site) -> None:
    headers = await scrape_api.account()
    started = (await scrape_api.http.post("/v1/scrape", headers=headers, json={
        "url": site.url("/"), "keyword_filter": "/img/l"})).json()
    await scrape_api.engine.jobs.wait(started["job_id"], 60)
    answer = await scrape_api.http.get(f"/v1/jobs/{started['job_id']}/download", headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == ["lazy.jpg", "ld.jpg", "linked.png"]
    assert archive.read("linked.png") == IMAGES["/img/linked.png"]


@pytest.mark.parametrize(("body", "code"), [
    ({"url": "file:///etc/passwd"}, "url_scheme_not_allowed"),
    ({"url": "http://10.1.2.3/"}, "url_address_not_allowed"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "url_address_not_allowed"),
    ({"url": "http://127.0.0.1:22/"}, "url_address_not_allowed"),
    ({"url": "http://example.com:0/"}, "url_address_not_allowed"),
    ({"url": "https://example.com/", "crawl_depth": 3}, "invalid_request"),
    ({"url": "https://example.com/", "max_files": 101}, "scrape_max_files_too_large"),
])
async def test_bad_input_is_a_400_with_a_code(scrape_api: ApiClient, body: dict[str, object], code: str) -> None:
    headers = await scrape_api.account()
    answer = await scrape_api.http.post("/v1/scrape", headers=headers, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code


async def test_download_of_another_kind_of_job_or_one_running_is_refused(scrape_api: ApiClient) -> None:
    headers = await scrape_api.account()
    assert (await scrape_api.http.get("/v1/jobs/job_nothere/download", headers=headers)).json()["error"]["code"] == \
        "job_not_found"


async def test_schedules_over_rest(scrape_api: ApiClient, site: Site) -> None:
    headers = await scrape_api.account()
    created = await scrape_api.http.post("/v1/automation/schedules", headers=headers, json={
        "url": site.url("/"), "name": "Daily Gallery Scrape", "schedule": "daily", "hour": 6, "max_files": 50,
        "sniper_mode": True})
    assert created.status_code == 201, created.text
    schedule_id = created.json()["schedule_id"]
    assert created.json()["next_run"].endswith(("06:00:00Z", "06:00:00+00:00"))
    listed = (await scrape_api.http.get("/v1/automation/schedules", headers=headers)).json()
    assert [s["id"] for s in listed] == [schedule_id] and listed[0]["cron"] == "0 6 * * *"
    toggled = (await scrape_api.http.post(f"/v1/automation/schedules/{schedule_id}/toggle", headers=headers)).json()
    assert toggled["enabled"] is False
    bad = await scrape_api.http.post("/v1/automation/schedules", headers=headers, json={
        "url": site.url("/"), "name": "x", "schedule": "sometimes"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "schedule_invalid"
    other = await scrape_api.account("other")
    gone = await scrape_api.http.delete(f"/v1/automation/schedules/{schedule_id}", headers=other)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "schedule_not_found"
    assert (await scrape_api.http.delete(f"/v1/automation/schedules/{schedule_id}", headers=headers)).status_code == 200


async def test_a_scrape_job_answers_the_spec_status_from_queued_to_failed(scrape_api: ApiClient, site: Site) -> None:
    """queued -> queued, running -> processing, ready -> completed, failed and cancelled -> failed."""
    from engine.jobs import JobStatus
    from engine.scrape.models import SPEC_STATUS, ScrapeStatus

    assert SPEC_STATUS == {JobStatus.QUEUED: ScrapeStatus.QUEUED, JobStatus.RUNNING: ScrapeStatus.PROCESSING,
                           JobStatus.READY: ScrapeStatus.COMPLETED, JobStatus.FAILED: ScrapeStatus.FAILED,
                           JobStatus.CANCELLED: ScrapeStatus.FAILED}
    headers = await scrape_api.account()
    started = (await scrape_api.http.post("/v1/scrape", headers=headers, json={
        "url": site.url("/slow.html"), "force": True})).json()
    early = (await scrape_api.http.get(started["poll_url"], headers=headers)).json()
    assert early["status"] in ("queued", "processing") and early["success"] is True
    assert early["job_status"] in ("queued", "running") and early["finished_at"] is None
    assert set(early["assets"]) == {"count", "items"}
    cancelled = await scrape_api.http.post(f"/v1/jobs/{started['job_id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    await scrape_api.engine.jobs.wait(started["job_id"], 60)
    job = (await scrape_api.http.get(started["poll_url"], headers=headers)).json()
    assert job["job_status"] == "cancelled" and job["status"] == "failed" and job["success"] is False
    assert job["finished_at"] is not None



async def test_the_pipeline_action_scrape_feeds_later_steps(scrape_api: ApiClient, site: Site) -> None:
    headers = await scrape_api.account()
    answer = await scrape_api.http.post("/v1/pipeline", headers=headers, json={"steps": [
        {"name": "scrape", "action": "scrape", "params": {"url": site.url("/"), "sniper_mode": False, "crawl_depth": 1,
                                                          "keyword_filter": "level", "wait_s": 60}},
        {"name": "first", "action": "get_asset", "params": {"id": "$scrape.asset_ids.0"}},
    ]})
    assert answer.status_code == 200, answer.text
    run = answer.json()["pipeline"]
    assert [step["status"] for step in run["steps"]] == ["ok", "ok"], run
    scraped = run["steps"][0]["output"]
    assert scraped["status"] == "completed" and scraped["urls"] == [site.url("/img/level1.jpg")]
    assert run["steps"][1]["output"]["id"] == scraped["asset_ids"][0]
    assert run["steps"][1]["output"]["metadata"]["source_url"] == scraped["urls"][0]
