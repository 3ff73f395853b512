"""Generation through the engine against fake providers on 127.0.0.1: each provider's exact request, the
chain's order and fallback, refusals, bad answers that store nothing, per-request keys, and the ledger."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import Engine, Settings
from engine.assets import ListQuery
from engine.auth import Principal
from engine.catalog import tables
from engine.errors import PicshaError
from engine.generation.chain import order
from engine.generation.models import GenerateRequest, QueuedGenerate, STYLE_SUFFIX, Style
from engine.generation.settings import ProviderName
from tests.factories import make_settings
from tests.fake_providers import Fakes, fake_providers

PROMPT = "a red kite over a green hill"
STYLED = f"{PROMPT}, {STYLE_SUFFIX[Style.PROFESSIONAL]}"


@pytest.fixture(scope="module")
def providers() -> Iterator[Fakes]:
    with fake_providers() as fakes:
        yield fakes


@pytest.fixture(autouse=True)
def fresh(providers: Fakes) -> None:
    providers.reset()


@pytest.fixture
def settings(tmp_path: Path, providers: Fakes) -> Settings:
    configured = make_settings(tmp_path, generate=providers.settings(max_parallel_per_provider=2))
    configured.ingest.fetch_allow_private = True  # the fakes' result URLs are on loopback
    configured.ingest.max_pixels = 100_000
    return configured


def ask(provider: ProviderName | None = None, **extra: object) -> GenerateRequest:
    return GenerateRequest.model_validate({"prompt": PROMPT, **({"provider": provider} if provider else {}), **extra})


async def stored(engine: Engine, owner: Principal) -> int:
    return (await engine.assets.list(owner, ListQuery())).total


async def test_openai_request_and_answer(engine: Engine, owner: Principal, providers: Fakes) -> None:
    result = await engine.generation.generate(owner, ask(ProviderName.OPENAI))
    (post,) = providers.openai.posts()
    assert post.path == "/v1/images/generations"
    assert post.headers["authorization"] == f"Bearer {providers.openai.key}"
    assert post.body == {"model": "gpt-image-1-mini", "prompt": STYLED, "n": 2, "size": "1536x1024",
                         "quality": "medium", "background": "auto", "output_format": "png"}
    assert result.provider is ProviderName.OPENAI and result.count == 2 and len(result.asset_ids) == 2
    assert [image.title for image in result.images] == ["OpenAI — Variation 1", "OpenAI — Variation 2"]
    # priced from the reported tokens: 50 input at $2/M, 2 x 1000 output at $8/M
    assert result.cost == "$0.0161"


async def test_imagen_request_and_answer(engine: Engine, owner: Principal, providers: Fakes) -> None:
    result = await engine.generation.generate(owner, ask(ProviderName.IMAGEN, orientation="portrait", count=3))
    (post,) = providers.imagen.posts()
    assert post.path == "/v1beta/models/imagen-4.0-fast-generate-001:predict"
    assert post.headers["x-goog-api-key"] == providers.imagen.key and "authorization" not in post.headers
    assert post.body == {"instances": [{"prompt": STYLED}],
                         "parameters": {"sampleCount": 3, "aspectRatio": "9:16", "includeRaiReason": True}}
    assert result.provider is ProviderName.IMAGEN and len(result.images) == 3
    assert result.cost == "$0.0600"  # no usage reported: the list price per image


async def test_fal_queue_submit_poll_result_and_fetch(engine: Engine, owner: Principal, providers: Fakes) -> None:
    result = await engine.generation.generate(owner, ask(ProviderName.FAL, orientation="square", format="jpeg"))
    fal = providers.fal
    (post,) = fal.posts()
    assert post.path == "/fal-ai/flux/schnell" and post.headers["authorization"] == f"Key {fal.key}"
    assert post.body == {"prompt": STYLED, "image_size": "square_hd", "num_images": 2, "seed": post.body["seed"],
                         "enable_safety_checker": True, "output_format": "jpeg"}
    paths = [seen.path for seen in fal.seen[1:]]
    assert paths[:3] == [f"/fal-ai/flux/requests/{rid}/status" for rid in [paths[0].split("/")[4]] * 3]
    assert paths[3].endswith(paths[0].split("/")[4]) and all(path.startswith("/files/") for path in paths[4:])
    assert len(paths) == 6  # 3 polls, the result, two images fetched once each
    assert all(seen.headers.get("authorization") is None for seen in fal.seen if seen.path.startswith("/files/"))
    assert {image.seed for image in result.images} == {post.body["seed"]}
    # fal bills megapixels: two 64x36 images
    assert result.cost == f"${0.003 * 2 * 64 * 36 / 1_000_000:.4f}"


async def test_replicate_prefer_wait_and_polling(engine: Engine, owner: Principal, providers: Fakes) -> None:
    result = await engine.generation.generate(owner, ask(ProviderName.REPLICATE, count=1))
    (post,) = providers.replicate.posts()
    assert post.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert post.headers["prefer"] == "wait=5" and post.headers["authorization"] == f"Bearer {providers.replicate.key}"
    assert post.body == {"input": {"prompt": STYLED, "num_outputs": 1, "aspect_ratio": "16:9",
                                   "seed": post.body["input"]["seed"]}}
    assert result.provider is ProviderName.REPLICATE and result.cost == "$0.0030"

    providers.reset()
    providers.replicate.wait = False  # answered 'starting': polled at {base}/predictions/{id}
    polled = await engine.generation.generate(owner, ask(ProviderName.REPLICATE, count=2))
    gets = [seen.path for seen in providers.replicate.seen if seen.method == "GET" and "/predictions/" in seen.path]
    assert len(gets) == 2 and len(set(gets)) == 1 and len(polled.images) == 2


async def test_assets_record_the_generation(engine: Engine, owner: Principal) -> None:
    result = await engine.generation.generate(owner, ask(ProviderName.OPENAI, style="cinematic", count=1,
                                                         tags=["hero"], metadata={"campaign": "spring"}))
    asset = await engine.assets.get(owner, result.asset_ids[0])
    assert asset.metadata["source"] == "generated" and asset.metadata["campaign"] == "spring"
    assert asset.metadata["generation"] == {"prompt": PROMPT, "style": "cinematic", "provider": "openai",
                                            "model": "gpt-image-1-mini", "seed": None, "orientation": "landscape"}
    assert asset.tags == ["hero"] and asset.description == PROMPT and asset.meta.format == "png"
    assert asset.filename == "generated-openai-1.png" and result.images[0].url == asset.urls.original
    assert asset.cost != "$0.0000"  # its share of the generation (and its storage)


async def test_generated_images_are_analysed_like_uploads(engine: Engine, owner: Principal) -> None:
    from engine.enrich.settings import AnalysisDefaults

    engine.enrich.settings.defaults = AnalysisDefaults(auto_tag=False, auto_summarize=True, vectorize=False,
                                                       safe_search=False, ocr=False)
    result = await engine.generation.generate(owner, ask(ProviderName.IMAGEN, count=1))
    job = await engine.jobs.latest_for_asset(owner.account_id, result.asset_ids[0])
    assert job is not None and await engine.jobs.wait(job.id, timeout_s=60)
    asset = await engine.assets.get(owner, result.asset_ids[0])
    assert "caption" in asset.analysis.done and asset.ai.caption


def test_default_order_is_cheapest_first(providers: Fakes) -> None:
    assert order(providers.settings()) == [ProviderName.FAL, ProviderName.REPLICATE, ProviderName.OPENAI,
                                           ProviderName.IMAGEN]
    cheaper = providers.settings(imagen={"price_per_image_usd": 0.001})
    assert order(cheaper)[0] is ProviderName.IMAGEN
    assert order(providers.settings(order=["openai", "fal"])) == [ProviderName.OPENAI, ProviderName.FAL]


async def test_failures_pass_down_the_chain(engine: Engine, owner: Principal, providers: Fakes) -> None:
    providers.fal.mode = "error500"
    providers.replicate.mode = "rate_limited"
    providers.openai.mode = "malformed"
    result = await engine.generation.generate(owner, ask())
    assert result.provider is ProviderName.IMAGEN
    assert [(a.provider.value, a.outcome) for a in result.tried] == [
        ("fal", "failed"), ("replicate", "failed"), ("openai", "failed"), ("imagen", "used")]
    reasons = [a.reason for a in result.tried[:3]]
    assert reasons[0] == "server error (HTTP 500) after 2 tries" and len(providers.fal.posts()) == 2
    assert reasons[1] == "rate limited (HTTP 429) after 2 tries" and len(providers.replicate.posts()) == 2
    assert reasons[2] == "answered HTTP 200 with malformed JSON"


async def test_a_hanging_provider_is_skipped(engine: Engine, owner: Principal, providers: Fakes) -> None:
    engine.generation.settings.order = [ProviderName.OPENAI, ProviderName.FAL, ProviderName.REPLICATE]
    engine.generation.settings.openai.timeout_s = 0.3
    providers.openai.mode = "slow"
    providers.fal.mode = "stuck"  # stays IN_PROGRESS past the deadline, then is cancelled
    result = await engine.generation.generate(owner, ask())
    assert result.provider is ProviderName.REPLICATE
    assert result.tried[0].reason == "timed out after 2 tries"
    assert result.tried[1].reason == "did not finish within 1 s"
    assert any(seen.method == "PUT" and seen.path.endswith("/cancel") for seen in providers.fal.seen)


@pytest.mark.parametrize("provider,mode,reason", [
    (ProviderName.OPENAI, "not_image", "answered a file that is txt, not one of png"),
    (ProviderName.IMAGEN, "huge", "its image was refused: The image is 400x300"),
    (ProviderName.FAL, "not_image", "not one of png, jpeg, webp, avif"),
    (ProviderName.FAL, "expired", "its result URL was refused: The URL answered HTTP 403"),
    (ProviderName.REPLICATE, "huge", "its result URL was refused: The image is 400x300"),
])
async def test_bad_images_store_nothing(engine: Engine, owner: Principal, providers: Fakes, provider: ProviderName,
                                        mode: str, reason: str) -> None:
    getattr(providers, provider.value).mode = mode
    with pytest.raises(PicshaError) as failed:
        await engine.generation.generate(owner, ask(provider))
    assert failed.value.code == "generate_failed" and failed.value.status == 502
    (attempt,) = failed.value.details["tried"]
    assert reason in attempt["reason"] and attempt["outcome"] == "failed"
    assert await stored(engine, owner) == 0
    assert not any(engine.work_dir.iterdir())  # nothing staged is left behind


@pytest.mark.parametrize("provider", [ProviderName.FAL, ProviderName.REPLICATE])
async def test_result_urls_go_through_the_address_guard(engine: Engine, owner: Principal, provider: ProviderName) -> None:
    engine.ingest.settings = engine.ingest.settings.model_copy(update={"fetch_allow_private": False})
    with pytest.raises(PicshaError) as failed:  # the fake's result URLs are on loopback, which production refuses
        await engine.generation.generate(owner, ask(provider))
    reason = failed.value.details["tried"][0]["reason"]
    assert reason.startswith("its result URL was refused: The URL's address is not allowed")
    assert "127.0.0.1" not in reason and await stored(engine, owner) == 0


async def test_a_refusal_answers_unless_fallback_is_on(engine: Engine, owner: Principal, providers: Fakes) -> None:
    engine.generation.settings.order = [ProviderName.OPENAI, ProviderName.IMAGEN]
    providers.openai.mode = "refuse"
    with pytest.raises(PicshaError) as refused:
        await engine.generation.generate(owner, ask())
    assert refused.value.code == "generate_refused" and refused.value.status == 422
    assert "safety" in refused.value.message and not providers.imagen.seen

    engine.generation.settings.fallback_on_refusal = True
    result = await engine.generation.generate(owner, ask())
    assert result.provider is ProviderName.IMAGEN
    assert [a.outcome for a in result.tried] == ["refused", "used"]
    assert "moderation" not in (result.tried[0].reason or "") and "safety system" in (result.tried[0].reason or "")


@pytest.mark.parametrize("provider", [ProviderName.IMAGEN, ProviderName.FAL, ProviderName.REPLICATE])
async def test_each_provider_reports_its_refusal(engine: Engine, owner: Principal, providers: Fakes,
                                                 provider: ProviderName) -> None:
    getattr(providers, provider.value).mode = "refuse"
    with pytest.raises(PicshaError) as refused:
        await engine.generation.generate(owner, ask(provider))
    assert refused.value.code == "generate_refused"
    assert refused.value.details["tried"][0]["outcome"] == "refused"
    assert await stored(engine, owner) == 0


async def test_no_provider_configured(engine: Engine, owner: Principal) -> None:
    for name in ProviderName:
        engine.generation.settings.provider(name).api_key = None
    engine.generation.settings.fal.enabled = False
    with pytest.raises(PicshaError) as unavailable:
        await engine.generation.generate(owner, ask())
    assert unavailable.value.status == 503 and unavailable.value.code == "generate_no_provider"
    assert "PICSHA_GENERATE__OPENAI__API_KEY" in unavailable.value.message
    assert {s["provider"]: s["reason"] for s in unavailable.value.details["skipped"]}["fal"] == "turned off"
    with pytest.raises(PicshaError):
        await engine.generation.queue(owner, QueuedGenerate(prompt=PROMPT))


async def test_request_keys_are_used_once_and_never_kept(engine: Engine, owner: Principal, providers: Fakes,
                                                         settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ProviderName:
        engine.generation.settings.provider(name).api_key = None
    # the fakes accept only their own key, so the answer proves the request's key was sent
    openai = await engine.generation.generate(owner, ask(ProviderName.OPENAI, api_key=providers.openai.key))
    imagen = await engine.generation.generate(owner, ask(gemini_key=providers.imagen.key, count=1))
    assert openai.provider is ProviderName.OPENAI and imagen.provider is ProviderName.IMAGEN
    with pytest.raises(PicshaError) as unavailable:  # nothing was kept for the next request
        await engine.generation.generate(owner, ask())
    assert unavailable.value.code == "generate_no_provider"

    providers.openai.mode = "error500"  # a failing call's reason does not quote the key either
    with pytest.raises(PicshaError) as failed:
        await engine.generation.generate(owner, ask(ProviderName.OPENAI, api_key=providers.openai.key))
    for key in (providers.openai.key, providers.imagen.key):
        assert key not in caplog.text
        assert key not in openai.model_dump_json() + imagen.model_dump_json() + str(failed.value.to_dict())
        for path in settings.data_dir.rglob("*"):
            assert not path.is_file() or key.encode() not in path.read_bytes(), path
    with pytest.raises(PicshaError) as unnamed:
        await engine.generation.generate(owner, ask(api_key=providers.openai.key))
    assert unnamed.value.code == "generate_key_needs_provider" and "openai" in unnamed.value.message


async def test_costs_are_ledger_rows(engine: Engine, owner: Principal) -> None:
    await engine.generation.generate(owner, ask(ProviderName.OPENAI))
    await engine.generation.generate(owner, ask(ProviderName.IMAGEN, count=1))
    u = tables.usage_events
    async with engine.catalog.connect() as conn:
        rows = (await conn.execute(sa.select(u.c.asset_id, u.c.amount_micros, u.c.detail)
                                   .where(u.c.kind == "generation").order_by(u.c.created_at))).all()
    assert len(rows) == 3 and all(row.asset_id for row in rows)
    assert sum(row.amount_micros for row in rows[:2]) == 16_100 and rows[2].amount_micros == 20_000
    assert rows[0].detail == {"provider": "openai", "model": "gpt-image-1-mini", "images": 2,
                              "input_tokens": 50, "output_tokens": 2000}
    usage = await engine.ledger.summary(owner.account_id)
    assert usage.breakdown.generation.images == 3 and usage.breakdown.generation.spend == "$0.0361"


async def test_batch_runs_prompts_in_parallel_with_own_errors(engine: Engine, owner: Principal,
                                                             providers: Fakes) -> None:
    from engine.generation.models import BatchRequest

    batch = BatchRequest.model_validate({"descriptions": ["a cat", "a dog", "a fox"], "provider": "imagen"})
    result = await engine.generation.batch(owner, batch)
    assert result.succeeded == 3 and result.failed == 0 and result.cost == "$0.0600"
    assert [item.prompt for item in result.items] == ["a cat", "a dog", "a fox"]
    assert providers.imagen.peak <= 2  # never more calls at once than the bound
    providers.imagen.mode = "refuse"
    refused = await engine.generation.batch(owner, batch)
    assert refused.failed == 3 and refused.items[0].error and refused.items[0].error["code"] == "generate_refused"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PICSHA_GENERATE__OPENAI__API_KEY", "sk-from-env")
    monkeypatch.setenv("PICSHA_GENERATE__FAL__ENABLED", "false")
    monkeypatch.setenv("PICSHA_GENERATE__REPLICATE__MODEL", "black-forest-labs/flux-dev")
    monkeypatch.setenv("PICSHA_GENERATE__IMAGEN__BASE_URL", "https://example.test/v1beta")
    monkeypatch.setenv("PICSHA_GENERATE__ORDER", '["imagen", "openai"]')
    monkeypatch.setenv("PICSHA_GENERATE__FALLBACK_ON_REFUSAL", "true")
    loaded = Settings().generate
    assert loaded.openai.api_key is not None and loaded.openai.api_key.get_secret_value() == "sk-from-env"
    assert loaded.fal.enabled is False and loaded.replicate.model == "black-forest-labs/flux-dev"
    assert loaded.imagen.base_url == "https://example.test/v1beta" and loaded.fallback_on_refusal is True
    assert loaded.order == [ProviderName.IMAGEN, ProviderName.OPENAI]
