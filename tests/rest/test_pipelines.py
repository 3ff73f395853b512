"""Action pipelines over REST (``POST /v1/pipeline``, ``GET /v1/pipeline/actions``) on real registry tools."""

from __future__ import annotations

import base64
from typing import Any

from tests.conftest import ApiClient
from tests.factories import image_bytes


async def _upload(api: ApiClient, headers: dict[str, str], name: str, width: int) -> dict[str, Any]:
    data = base64.b64encode(image_bytes(width, 100, "png")).decode()
    made = await api.http.post("/v1/tools/upload_asset", json={"base64": data, "filename": name, "tags": ["pipe"]},
                               headers=headers)
    assert made.status_code == 200, made.text
    return made.json()


async def test_steps_use_earlier_outputs(api: ApiClient) -> None:
    headers = await api.account()
    first = await _upload(api, headers, "wide.png", 300)
    await _upload(api, headers, "narrow.png", 120)
    answer = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [
        {"name": "list", "action": "list_assets", "params": {"sort": "created_at", "order": "asc", "page_size": 5}},
        {"name": "get", "action": "get_asset", "params": {"id": "$list.items.0.id"}},
        {"name": "small", "action": "render_asset", "params": {"id": "$get.id", "w": 60, "format": "png"}},
    ]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    run = body["pipeline"]
    assert body["success"] is True and (run["steps_total"], run["steps_ok"], run["steps_failed"]) == (3, 3, 0)
    assert [step["status"] for step in run["steps"]] == ["ok", "ok", "ok"]
    assert run["steps"][1]["output"]["id"] == first["id"] and run["steps"][1]["output"]["filename"] == "wide.png"
    assert run["result"]["width"] == 60 and run["result"]["asset"]["id"] == first["id"]
    rendered = await api.http.get(run["result"]["url"].removeprefix("http://testserver"))
    assert rendered.status_code == 200 and rendered.content[:4] == b"\x89PNG"


async def test_search_alias_and_a_step_that_fails(api: ApiClient) -> None:
    headers = await api.account()
    await _upload(api, headers, "harbour.png", 200)
    answer = await api.http.post("/v1/pipeline", headers=headers, json={"stop_on_error": False, "steps": [
        {"name": "gone", "action": "get_asset", "params": {"id": "as_missing"}},
        {"name": "then", "action": "render_asset", "params": {"id": "$gone.id", "w": 10}},
        {"name": "find", "action": "search", "params": {"query": "harbour", "limit": 1}},
    ]})
    assert answer.status_code == 200, answer.text
    run = answer.json()["pipeline"]
    assert answer.json()["success"] is False
    assert [step["status"] for step in run["steps"]] == ["failed", "skipped", "ok"]
    assert run["steps"][0]["error"]["code"] == "asset_not_found"
    assert run["result"]["results"][0]["filename"] == "harbour.png"


async def test_bad_pipelines_are_4xx_naming_the_step(api: ApiClient) -> None:
    headers = await api.account()

    async def refused(steps: list[dict[str, Any]]) -> dict[str, Any]:
        answer = await api.http.post("/v1/pipeline", headers=headers, json={"steps": steps})
        assert answer.status_code == 400, answer.text
        return answer.json()["error"]

    find = {"name": "find", "action": "search", "params": {"query": "x"}}
    misspelt = await refused([find, {"name": "get", "action": "get_asset", "params": {"id": "$find.result.0.id"}}])
    assert misspelt["code"] == "pipeline_reference_invalid" and misspelt["step"] == "get"
    assert "its fields: filters, query, results, total" in misspelt["message"]
    typed = await refused([find, {"name": "get", "action": "get_asset", "params": {"id": "$find.total"}}])
    assert "is integer, but param id takes string" in typed["message"]
    unknown = await refused([{"name": "x", "action": "format_disk", "params": {}}])
    assert unknown["code"] == "pipeline_action_unknown" and "search_assets" in unknown["valid"]
    assert "run_pipeline" not in unknown["valid"]
    too_many = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [find] * 21})
    assert too_many.status_code == 400 and "steps" in too_many.json()["error"]["message"]
    bad_name = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [{**find, "name": "a.b"}]})
    assert bad_name.status_code == 400 and "name" in bad_name.json()["error"]["message"]


async def test_actions_are_listed_with_params_and_outputs(api: ApiClient) -> None:
    headers = await api.account()
    listed = (await api.http.get("/v1/pipeline/actions", headers=headers)).json()["actions"]
    search = next(entry for entry in listed if entry["action"] == "search_assets")
    assert search["alias"] == "search" and "query" in search["params"]["properties"]
    assert set(search["output"]["properties"]) >= {"results", "total"}
    assert "run_pipeline" not in {entry["action"] for entry in listed}
    assert (await api.http.get("/v1/pipeline/actions")).status_code == 401


async def test_analysis_skills_are_an_action(api: ApiClient) -> None:
    headers = await api.account()
    await _upload(api, headers, "palette.png", 120)
    answer = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [
        {"name": "find", "action": "list_assets", "params": {"page_size": 1}},
        {"name": "look", "action": "analyze", "params": {"asset_ids": ["$find.items.0.id"], "skill": "colors"}},
    ]})
    assert answer.status_code == 200, answer.text
    look = answer.json()["pipeline"]["steps"][1]
    assert look["status"] == "ok" and look["output"]["failed"] == {}
    assert look["output"]["assets"][0]["filename"] == "palette.png"
    asset = (await api.http.get(f"/v1/assets/{look['output']['assets'][0]['id']}", headers=headers)).json()
    assert "colors" in asset["analysis"]["done"]
    wrong = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [
        {"name": "look", "action": "analyze", "params": {"asset_ids": ["as_x"], "skill": "telepathy"}}]})
    assert wrong.json()["pipeline"]["steps"][0]["error"]["code"] == "invalid_request"
    assert "caption" in wrong.json()["pipeline"]["steps"][0]["error"]["message"]
