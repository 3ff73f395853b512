"""An account's job backlog is bounded: a request that would queue one more job is refused with 503
jobs_backlog and Retry-After, before anything is stored; the server's own follow-up work is not refused."""

from __future__ import annotations

from pathlib import Path

from engine.enrich.settings import AnalysisDefaults
from tests.conftest import app_client
from tests.factories import image_bytes, make_settings

OFF = '{"auto_tag": false, "auto_summarize": false}'


async def test_uploads_past_the_backlog_are_refused_and_store_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.enrich.defaults = AnalysisDefaults(auto_summarize=True, auto_tag=False, vectorize=False,
                                                safe_search=False, ocr=False)
    settings.jobs.in_process = False  # nothing runs them: they stay queued
    settings.jobs.max_queued_per_account = 2
    async with app_client(settings) as api:
        mine, other = await api.account("mine"), await api.account("other")

        async def upload(headers: dict[str, str], name: str, **form: str) -> tuple[int, dict]:
            answer = await api.http.post("/v1/assets", headers=headers, data=form,
                                         files={"file": (name, image_bytes(40 + len(name), 30, "png"))})
            return answer.status_code, answer.json() | {"retry_after": answer.headers.get("retry-after")}

        assert [(await upload(mine, f"{n}.png"))[0] for n in ("a", "bb")] == [202, 202]
        status, refused = await upload(mine, "ccc.png")
        assert status == 503 and refused["error"]["code"] == "jobs_backlog" and refused["retry_after"] == "5"
        assert "2 jobs waiting" in refused["error"]["message"]
        listed = (await api.http.get("/v1/assets", headers=mine)).json()
        assert listed["total"] == 2 and "ccc.png" not in {a["filename"] for a in listed["items"]}
        # an upload that queues no job, and another account, are not held back by this backlog
        assert (await upload(mine, "dddd.png", config=OFF))[0] == 201
        assert (await upload(other, "e.png"))[0] == 202


async def test_server_follow_up_jobs_are_not_bounded(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.jobs.in_process = False
    settings.jobs.max_queued_per_account = 1
    async with app_client(settings) as api:
        account = api.engine.owner_account_id
        first = await api.engine.jobs.enqueue(account_id=account, kind="webhook.delivery", payload={})
        second = await api.engine.jobs.enqueue(account_id=account, kind="webhook.delivery", payload={})
        assert first != second
