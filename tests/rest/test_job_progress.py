"""Job progress over Server-Sent Events, cancelling, and the X-Job-Id header, against uvicorn."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2

from engine import Settings
from engine.enrich.settings import AnalysisDefaults
from tests.conftest import LiveServer
from tests.factories import image_bytes, make_key, make_settings


def read_events(http: httpx2.Client, url: str, headers: dict[str, str]) -> list[tuple[str, dict[str, object]]]:
    """Every event of one SSE stream, read until the server closes it."""
    events, name = [], "message"
    with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line.split(":", 1)[1])))
                name = "message"
    return events


def analysing_settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    settings.enrich.defaults = AnalysisDefaults(auto_tag=False, auto_summarize=True, vectorize=False,
                                                safe_search=False, ocr=False)
    return settings


def test_an_upload_names_its_job_and_its_progress_streams_to_the_end(tmp_path: Path) -> None:
    settings = analysing_settings(tmp_path)
    key = make_key(settings)
    headers = {"Authorization": f"Bearer {key}"}
    with LiveServer(settings) as server, httpx2.Client(base_url=server.url, timeout=60) as http:
        created = http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(64, 48, "png"))})
        assert created.status_code in (200, 202), created.text
        job_id = created.headers["x-job-id"]
        events = read_events(http, f"/v1/jobs/{job_id}/progress", headers)
        job = http.get(f"/v1/jobs/{job_id}", headers=headers).json()
        again = http.post(f"/v1/jobs/{job_id}/cancel", headers=headers)
    name, last = events[-1]
    assert name == "ready" and last["status"] == "ready" and last["progress"] == 100 and last["id"] == job_id
    assert [n for n, _ in events[:-1]] == ["progress"] * (len(events) - 1)  # one terminal event, at the end
    assert job["status"] == "ready" and job["poll_interval_ms"] > 0
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_already_finished"


def test_unknown_and_foreign_jobs_are_404_on_every_job_route(live_server: LiveServer) -> None:
    mine = {"Authorization": f"Bearer {make_key(live_server.settings, 'me')}"}
    other = {"Authorization": f"Bearer {make_key(live_server.settings, 'other')}"}
    with httpx2.Client(base_url=live_server.url, timeout=30) as http:
        created = http.post("/v1/assets", headers=mine, data={"config": json.dumps({"auto_summarize": True})},
                            files={"file": ("a.png", image_bytes(32, 32, "png"))})
        job_id = created.headers["x-job-id"]
        for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/progress", "/v1/jobs/job_nosuchjob/progress"):
            assert http.get(path, headers=other).json()["error"]["code"] == "job_not_found"
        for job in (job_id, "job_nosuchjob"):
            refused = http.post(f"/v1/jobs/{job}/cancel", headers=other)
            assert refused.status_code == 404 and refused.json()["error"]["code"] == "job_not_found"
