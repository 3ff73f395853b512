"""Quotas (402 quota_exceeded naming the quota, before the work) and account settings (GET/PUT
/v1/settings, checked per key, enforced on uploads and tool calls), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx2
import pytest

from engine import Settings
from engine.auth import Principal, Role
from engine.errors import Forbidden
from engine.plans import LimitSettings, Plan
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes

PICTURE = image_bytes(60, 40, "png")


def with_plan(settings: Settings, plan: Plan) -> Settings:
    return settings.model_copy(update={"limits": LimitSettings(plans={"default": plan})})


async def upload(api: ApiClient, headers: dict[str, str], data: bytes = PICTURE, **form: str) -> httpx2.Response:
    return await api.http.post("/v1/assets", headers=headers, files={"file": ("q.png", data)}, data=form)


async def test_storage_quota_refuses_before_storing_and_deletes_free_it(shared_settings: Settings) -> None:
    other = image_bytes(61, 40, "png")
    async with app_client(with_plan(shared_settings, Plan(storage_bytes=len(PICTURE) + len(other) - 1))) as api:
        headers = await api.account()
        first = (await upload(api, headers)).json()
        refused = await upload(api, headers, other)
        listed = (await api.http.get("/v1/assets", headers=headers)).json()["total"]
        await api.http.delete(f"/v1/assets/{first['id']}", headers=headers)
        still_in_trash = await upload(api, headers, other)  # the trash still holds its bytes
        await api.http.delete(f"/v1/assets/{first['id']}?purge=true", headers=headers)
        after_delete = await upload(api, headers, other)
        usage = (await api.http.get("/v1/usage", headers=headers)).json()
    assert refused.status_code == 402 and listed == 1
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded" and error["quota"] == "storage_bytes" and error["used"] == len(PICTURE)
    assert still_in_trash.status_code == 402 and after_delete.status_code == 201
    assert usage["breakdown"]["storage_gb"] == pytest.approx(len(other) / 1e9, abs=1e-6)


async def test_a_resumable_upload_past_the_quota_is_refused_at_creation(settings: Settings) -> None:
    async with app_client(with_plan(settings, Plan(storage_bytes=1000))) as api:
        headers = await api.account() | {"Tus-Resumable": "1.0.0"}
        refused = await api.http.post("/v1/upload/resumable", headers=headers | {"Upload-Length": "1001"})
        fits = await api.http.post("/v1/upload/resumable", headers=headers | {"Upload-Length": "1000"})
    assert refused.status_code == 402 and refused.json()["error"]["quota"] == "storage_bytes"
    assert fits.status_code == 201


async def test_ai_quota_refuses_analyses_not_plain_uploads(shared_settings: Settings) -> None:
    from engine.usage import UsageKind

    async with app_client(with_plan(shared_settings, Plan(ai_operations_per_month=1))) as api:
        headers = await api.account()
        plain = (await upload(api, headers)).json()
        account_id = (await api.engine.keys.authenticate(headers["Authorization"].split()[1])).account_id
        await api.engine.ledger.record(account_id=account_id, kind=UsageKind.AI_OPERATION, quantity=1)
        skill = await api.http.post(f"/v1/assets/{plain['id']}/skills/tags/run", headers=headers)
        analysed = await upload(api, headers, config='{"auto_tag": true}')
        again = await upload(api, headers, image_bytes(62, 40, "png"))
        generate = await api.http.post("/v1/generate", headers=headers, json={"prompt": "a red bicycle"})
        tool = await api.http.post("/v1/tools/generate_image", headers=headers, json={"prompt": "a red bicycle"})
    for refused in (skill, analysed, generate, tool):
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"]["quota"] == "ai_operations_per_month"
    assert again.status_code == 201


async def test_settings_are_read_changed_and_checked(shared_settings: Settings) -> None:
    async with app_client(shared_settings) as api:
        headers = await api.account()
        before = (await api.http.get("/v1/settings", headers=headers)).json()
        unknown = await api.http.put("/v1/settings/colour", headers=headers, json={"value": 1})
        bad_tool = await api.http.put("/v1/settings/disabled_tools", headers=headers, json={"value": ["nope"]})
        too_big = await api.http.put("/v1/settings/max_upload_bytes", headers=headers,
                                     json={"value": shared_settings.ingest.max_bytes + 1})
        bad_flag = await api.http.put("/v1/settings/default_analysis", headers=headers, json={"value": {"ocr": "yes"}})
        small = await api.http.put("/v1/settings/max_upload_bytes", headers=headers, json={"value": len(PICTURE) - 1})
        too_large = await upload(api, headers)
        reset = await api.http.put("/v1/settings/max_upload_bytes", headers=headers, json={"value": None})
        fits = await upload(api, headers)
    assert before["disabled_tools"] == [] and before["max_upload_bytes"] == shared_settings.ingest.max_bytes
    assert unknown.status_code == 404 and "disabled_tools" in unknown.json()["error"]["valid"]
    assert bad_tool.status_code == 400 and bad_tool.json()["error"]["code"] == "setting_invalid"
    assert "search_assets" in bad_tool.json()["error"]["valid"]
    assert too_big.status_code == 400 and bad_flag.status_code == 400
    assert "ocr" in bad_flag.json()["error"]["valid"]
    assert small.json()["max_upload_bytes"] == len(PICTURE) - 1
    assert too_large.status_code == 413 and too_large.json()["error"]["max_bytes"] == len(PICTURE) - 1
    assert reset.json()["max_upload_bytes"] == shared_settings.ingest.max_bytes and fits.status_code == 201


async def test_disabled_tools_are_refused_on_every_path(settings: Settings) -> None:
    async with app_client(settings) as api:
        headers, other = await api.account("a"), await api.account("b")
        put = await api.http.put("/v1/settings/disabled_tools", headers=headers,
                                 json={"value": ["search_assets", "resize"]})
        agent_tool = await api.http.post("/v1/tools/search_assets", headers=headers, json={"query": "x"})
        image_tool = await api.http.post("/v1/tools/resize", headers=headers, files={"file": ("a.png", PICTURE)},
                                         data={"settings": '{"width": 10}'})
        pipeline = await api.http.post("/v1/tools/run_pipeline", headers=headers, json={
            "steps": [{"name": "s", "action": "search_assets", "params": {"query": "x"}}]})
        file_pipeline = await api.http.post("/v1/pipeline/execute", headers=headers, files={"file": ("a.png", PICTURE)},
                                            data={"pipeline": '[{"toolId": "resize", "settings": {"width": 10}}]'})
        elsewhere = await api.http.post("/v1/tools/search_assets", headers=other, json={"query": "x"})
    assert put.json()["disabled_tools"] == ["resize", "search_assets"]
    for refused in (agent_tool, image_tool, file_pipeline):
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "tool_disabled", refused.text
    assert "tool_disabled" in pipeline.text, pipeline.text
    assert elsewhere.status_code == 200  # another account's settings are its own


async def test_default_analysis_applies_to_uploads_that_leave_a_flag_unset(settings: Settings) -> None:
    async with app_client(with_plan(settings, Plan(ai_operations_per_month=0))) as api:
        headers = await api.account()
        plain = await upload(api, headers)  # the server's test defaults: no analyses, so no AI quota asked
        await api.http.put("/v1/settings/default_analysis", headers=headers, json={"value": {"auto_tag": True}})
        tagged = await upload(api, headers, image_bytes(63, 40, "png"))
        opted_out = await upload(api, headers, image_bytes(64, 40, "png"), config='{"auto_tag": false}')
    assert plain.status_code == 201 and opted_out.status_code == 201
    assert tagged.status_code == 402  # the account's default asked for an analysis; its quota is spent


async def test_only_admins_change_settings(api: ApiClient) -> None:
    member = Principal(account_id=api.engine.owner_account_id, key_id="key_x", role=Role.USER)
    with pytest.raises(Forbidden) as refused:
        await api.engine.account_settings.put(member, "max_upload_bytes", 10, tools=[])
    assert refused.value.code == "admin_required"
