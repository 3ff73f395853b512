"""get_job and wait_job over the official MCP client: an upload's analysis job, followed with progress."""

from __future__ import annotations

import asyncio
import base64

from mcp import Client

from engine import Engine
from engine.jobs import JobContext, JobKind, JobPolicy
from picsha_mcp.server import PicshaServer
from tests.factories import image_bytes
from tests.mcp.conftest import error_of, ok

ANALYSE = {"auto_summarize": True, "auto_tag": False, "ocr": False, "safe_search": False, "vectorize": False}


async def test_an_upload_names_its_job_and_wait_job_reports_progress_until_it_is_ready(server: PicshaServer) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    data = base64.b64encode(image_bytes(64, 48, "png")).decode()
    async with Client(server) as client:
        asset = ok(await client.call_tool("upload_asset", {"base64": data, "filename": "a.png", "config": ANALYSE}))
        assert asset["status"] == "processing" and asset["job_id"].startswith("job_")
        job = ok(await client.call_tool("wait_job", {"job_id": asset["job_id"], "timeout_s": 60},
                                        progress_callback=on_progress))
        again = ok(await client.call_tool("get_job", {"job_id": asset["job_id"]}))
    assert job["status"] == "ready" and job["progress"] == 100 and job["poll_interval_ms"] > 0
    assert again == job and set(job) >= {"id", "status", "progress", "message", "poll_interval_ms", "ttl_ms"}
    assert seen and seen[-1][0] == 100 and all(total == 100 for _d, total, _m in seen)
    assert [done for done, _t, _m in seen] == sorted(done for done, _t, _m in seen)


async def test_wait_job_returns_a_running_job_when_its_time_is_up(engine: Engine, server: PicshaServer) -> None:
    release = asyncio.Event()

    async def slow(job: JobContext) -> None:
        await job.report(progress=40, message="halfway there")
        await release.wait()

    engine.jobs.kinds["test.slow"] = JobKind("test.slow", slow, JobPolicy())
    job_id = await engine.jobs.enqueue(account_id=engine.owner_account_id, kind="test.slow")
    try:
        async with Client(server) as client:
            waited = ok(await client.call_tool("wait_job", {"job_id": job_id, "timeout_s": 0.5}))
            too_long = error_of(await client.call_tool("wait_job", {"job_id": job_id, "timeout_s": 3600}))
            missing = error_of(await client.call_tool("get_job", {"job_id": "job_nosuchjob"}))
    finally:
        release.set()
    assert waited["status"] == "running" and waited["message"] == "halfway there" and waited["progress"] == 40
    assert too_long["code"] == "invalid_request" and "timeout_s" in too_long["message"]
    assert missing["code"] == "job_not_found"
