"""``/v1/generate`` (now, queued, batch) over REST against fake providers on 127.0.0.1: the spec's answer,
bad input named, no provider, jobs with progress, the usage line, and the registry tool as a REST action."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Settings
from engine.generation.settings import ProviderName
from tests.conftest import ApiClient
from tests.factories import make_settings
from tests.fake_providers import Fakes, fake_providers


@pytest.fixture(scope="module")
def providers() -> Iterator[Fakes]:
    with fake_providers() as fakes:
        yield fakes


@pytest.fixture(autouse=True)
def fresh(providers: Fakes) -> None:
    providers.reset()


@pytest.fixture
def settings(tmp_path: Path, providers: Fakes) -> Settings:
    configured = make_settings(tmp_path, generate=providers.settings())
    configured.ingest.fetch_allow_private = True  # the fakes' result URLs are on loopback
    return configured


async def test_generate_answers_the_spec_shape(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/generate", headers=headers, json={
        "prompt": "Futuristic street food stall at night", "style": "cinematic", "orientation": "landscape",
        "count": 2, "provider": "imagen", "tags": ["stall"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["success"] is True and body["prompt"] == "Futuristic street food stall at night"
    assert body["count"] == 2 and body["provider"] == "imagen" and body["cost"] == "$0.0400"
    assert [(i["index"], i["title"], i["provider"]) for i in body["images"]] == [
        (0, "Imagen — Variation 1", "imagen"), (1, "Imagen — Variation 2", "imagen")]
    assert body["asset_ids"] == [image["asset_id"] for image in body["images"]]
    assert body["tried"] == [{"provider": "imagen", "outcome": "used", "reason": None}]
    stored = await api.http.get(body["images"][0]["url"])  # the signed URL works without a key
    assert stored.status_code == 200 and stored.content.startswith(b"\x89PNG")
    asset = (await api.http.get(f"/v1/assets/{body['asset_ids'][0]}", headers=headers)).json()
    assert asset["metadata"]["source"] == "generated" and asset["metadata"]["generation"]["style"] == "cinematic"
    assert asset["tags"] == ["stall"]


async def test_inline_answers_data_uris(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/generate", headers=headers,
                                 json={"prompt": "a lamp", "count": 1, "provider": "openai", "inline": True})
    url = answer.json()["images"][0]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]).startswith(b"\x89PNG")


@pytest.mark.parametrize("given,named", [
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   "}, "the prompt is empty"),
    ({"prompt": "x" * 2001}, "at most 2000 characters"),
    ({"prompt": "a cat", "count": 5}, "less than or equal to 4"),
    ({"prompt": "a cat", "count": 0}, "greater than or equal to 1"),
    ({"prompt": "a cat", "style": "baroque"}, "'professional', 'cinematic', 'minimalist', 'cyberpunk'"),
    ({"prompt": "a cat", "provider": "midjourney"}, "'openai', 'imagen', 'fal' or 'replicate'"),
    ({"prompt": "a cat", "orientation": "diagonal"}, "'landscape', 'portrait' or 'square'"),
])
async def test_bad_input_names_what_is_valid(api: ApiClient, providers: Fakes, given: dict[str, object],
                                             named: str) -> None:
    answer = await api.http.post("/v1/generate", headers=await api.account(), json=given)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_request" and named in answer.json()["error"]["message"]
    assert not any(fake.seen for fake in providers.all())


async def test_refusal_and_exhaustion_are_not_500(api: ApiClient, providers: Fakes) -> None:
    headers = await api.account()
    providers.openai.mode = "refuse"
    refused = await api.http.post("/v1/generate", headers=headers, json={"prompt": "a cat", "provider": "openai"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "generate_refused"
    for fake in providers.all():
        fake.mode = "malformed"
    api.engine.generation.settings.replicate.api_key = None
    failed = await api.http.post("/v1/generate", headers=headers, json={"prompt": "a cat"})
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "generate_failed"
    assert [t["provider"] for t in failed.json()["error"]["tried"]] == ["fal", "openai", "imagen"]
    assert failed.json()["error"]["skipped"] == [{"provider": "replicate", "outcome": "not_configured",
                                                  "reason": "no API key"}]


async def test_no_provider_is_503_naming_the_settings(api: ApiClient) -> None:
    for name in ProviderName:
        api.engine.generation.settings.provider(name).api_key = None
    answer = await api.http.post("/v1/generate", headers=await api.account(), json={"prompt": "a cat"})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "generate_no_provider"
    assert "PICSHA_GENERATE__FAL__API_KEY" in answer.json()["error"]["message"]


async def test_queued_generation_is_a_job(api: ApiClient) -> None:
    headers = await api.account()
    started = await api.http.post("/v1/generate/jobs", headers=headers,
                                  json={"description": "Mountain at sunset", "style": "cinematic", "count": 1})
    assert started.status_code == 202, started.text
    body = started.json()
    assert started.headers["X-Job-Id"] == body["job_id"] and body["poll_url"] == f"/v1/jobs/{body['job_id']}"
    events = []
    async with api.http.stream("GET", body["progress_url"], headers=headers) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    assert events[-1]["status"] == "ready"
    job = (await api.http.get(body["poll_url"], headers=headers)).json()
    assert job["kind"] == "generate" and job["result"]["provider"] == "fal" and len(job["result"]["asset_ids"]) == 1
    assert "api_key" not in json.dumps(job["payload"])

    keyed = await api.http.post("/v1/generate/jobs", headers=headers,
                                json={"prompt": "a cat", "provider": "openai", "api_key": "sk-not-stored"})
    assert keyed.status_code == 400 and "cannot carry api_key" in keyed.json()["error"]["message"]


async def test_batch_generates_each_prompt(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/generate/batch", headers=headers, json={
        "descriptions": ["A red apple on a wooden table", "A blue car driving in the rain"],
        "style": "photorealistic", "provider": "replicate"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["succeeded"] == 2 and body["cost"] == "$0.0060"
    assert [item["result"]["count"] for item in body["items"]] == [1, 1]
    eleven = await api.http.post("/v1/generate/batch", headers=headers, json={"prompts": ["a"] * 11})
    assert eleven.status_code == 400 and "at most 10" in eleven.json()["error"]["message"]


async def test_usage_shows_a_generation_line(api: ApiClient) -> None:
    headers = await api.account()
    await api.http.post("/v1/generate", headers=headers, json={"prompt": "a cat", "provider": "openai", "count": 1})
    usage = (await api.http.get("/v1/usage", headers=headers)).json()
    assert usage["breakdown"]["generation"] == {"images": 1, "spend": "$0.0081"}


async def test_the_tool_is_a_rest_action_with_asset_ids_and_urls(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/tools/generate_image", headers=headers,
                                 json={"prompt": "a lighthouse at dusk", "count": 2})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["asset_ids"]) == 2 and len(body["urls"]) == 2 and body["provider"] == "fal"


async def test_generate_is_a_pipeline_action(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [
        {"name": "make", "action": "generate", "params": {"prompt": "a red kite", "count": 1}},
        {"name": "small", "action": "render_asset", "params": {"id": "$make.asset_ids.0", "w": 32, "format": "png"}},
    ]})
    assert answer.status_code == 200, answer.text
    run = answer.json()["pipeline"]
    assert [step["status"] for step in run["steps"]] == ["ok", "ok"]
    made = run["steps"][0]["output"]
    assert made["urls"] and run["result"]["asset"]["id"] == made["asset_ids"][0] and run["result"]["width"] == 32
    unknown = await api.http.post("/v1/pipeline", headers=headers, json={"steps": [
        {"name": "make", "action": "generate", "params": {"prompt": "a kite"}},
        {"name": "get", "action": "get_asset", "params": {"id": "$make.asset_id"}},
    ]})
    assert unknown.status_code == 400 and "asset_ids" in unknown.text
