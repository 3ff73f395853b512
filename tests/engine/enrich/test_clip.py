"""CLIP plumbing with a tiny registered model config and random weights saved as a local checkpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from engine import Engine
from engine.assets import IngestConfig, IngestOptions
from engine.auth import Principal
from engine.enrich.clip import load_clip
from engine.enrich.settings import ClipSettings
from engine.enrich.torch_runtime import import_open_clip
from engine.search.models import SearchRequest
from tests.engine.enrich.conftest import analysis_settings, jpeg

TINY = "picsha-tiny-test"
TINY_CONFIG = {
    "embed_dim": 512,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    open_clip = import_open_clip()
    folder = tmp_path_factory.mktemp("clip")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    torch.manual_seed(0)
    checkpoint = folder / "tiny.pt"
    torch.save(open_clip.create_model(TINY).state_dict(), checkpoint)
    return checkpoint


def test_no_weights_means_no_model(tmp_path: Path) -> None:
    assert load_clip(ClipSettings(cache_dir=tmp_path)) is None
    assert load_clip(ClipSettings(checkpoint=tmp_path / "missing.pt")) is None


def test_a_checkpoint_loads_and_embeds_images_and_text(tiny_checkpoint: Path, chelsea: np.ndarray) -> None:
    model = load_clip(ClipSettings(model=TINY, checkpoint=tiny_checkpoint))
    assert model is not None
    images = model.embed_images([chelsea, chelsea[::-1]])
    texts = model.embed_texts(["a cat", "a rocket"])
    assert images.shape == (2, 512) and texts.shape == (2, 512)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-4)
    assert np.allclose(model.embed_images([chelsea]), images[:1], atol=1e-5)  # deterministic
    tags = model.zero_shot_tags(images[0], top_k=3, min_probability=0.0)
    assert len(tags) == 3 and all(isinstance(tag, str) and tag for tag in tags)
    assert model.zero_shot_tags(images[0], top_k=3, min_probability=1.01) == []


@pytest.fixture
async def clip_engine(tmp_path: Path, tiny_checkpoint: Path) -> AsyncIterator[Engine]:
    settings = analysis_settings(tmp_path, auto_tag=True, vectorize=True)
    settings.enrich.clip = ClipSettings(model=TINY, checkpoint=tiny_checkpoint, tags_min_probability=0.0)
    async with Engine.open(settings) as opened:
        yield opened


async def test_clip_vectors_and_tags_reach_the_asset_and_the_index(clip_engine: Engine, chelsea: np.ndarray) -> None:
    owner = Principal(account_id=clip_engine.owner_account_id)
    path = clip_engine.work_dir / "cat.jpg"
    path.write_bytes(jpeg(chelsea))
    asset = await clip_engine.ingest.from_path(owner, path, IngestOptions(config=IngestConfig()))
    assert await clip_engine.enrich.wait_for_asset(owner.account_id, asset.id, 120)
    job = await clip_engine.jobs.latest_for_asset(owner.account_id, asset.id)
    assert job is not None and job.status.value == "ready", job
    clip_step = next(step for step in job.steps if step.name == "clip")
    assert clip_step.ok and clip_step.skipped is None
    done = await clip_engine.assets.get(owner, asset.id)
    assert len(done.ai.tags) == 5
    assert await clip_engine.search.index.count(owner.account_id, f"id = '{asset.id}' AND has_clip_vec AND has_text_vec") == 1
    found = await clip_engine.search.search(owner, SearchRequest(query=done.ai.tags[0]))
    assert "clip" in found.paths and found.results and found.results[0].id == asset.id
