"""Enrichment overhead: wall time per image of the whole background job beside the models' own time.

    python bench/enrich.py [--repeat 2]

Ingests the real photos shipped with scikit-image and scikit-learn through the engine with every
analysis on (no CLIP weights here: that step reports skipped), waits for each job, and takes the job's
wall time (started -> finished). In the same run it calls each model on the same pixels directly
(colours+hash, NudeNet, open_nsfw, PP-OCR, MiniLM) and sums their times. Target: job <= 1.2 x models.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from engine.enrich import colors, ocr, regions, safety  # noqa: E402
from engine.enrich.derived_text import derived_text  # noqa: E402
from engine.enrich.source import AssetRecord, load_image  # noqa: E402
from engine.enrich.text_embedding import embed_texts  # noqa: E402


def photos() -> dict[str, np.ndarray]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    found = {name: getattr(data, name)()[:, :, :3] for name in ("astronaut", "coffee", "chelsea", "rocket")}
    samples = load_sample_images()
    found |= {Path(name).stem: image for name, image in zip(samples.filenames, samples.images, strict=True)}
    return found


def models_alone(path: Path, settings: Settings, record: AssetRecord) -> float:
    """The same work the job does, as bare model calls on the same pixels."""
    started = time.perf_counter()
    image, _scale = load_image(path, "jpeg", settings.enrich.max_side_px)
    colors.describe_colors(image)
    found = regions.find_regions(image, face_threshold=0.4, region_threshold=0.5)
    safety.judge(image, found["explicit"], 0.7)
    record.ai["ocr_text"] = ocr.read_text([image])
    embed_texts([derived_text(record)])
    return time.perf_counter() - started


async def run(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "data")
        async with Engine.open(settings) as engine:
            owner = Principal(account_id=engine.owner_account_id)
            job_times: list[float] = []
            model_times: list[float] = []
            for round_ in range(repeat + 1):  # round 0 loads the models and is not counted
                for name, pixels in photos().items():
                    path = engine.work_dir / f"{name}.jpg"
                    buffer = io.BytesIO()
                    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, "JPEG", quality=90)
                    path.write_bytes(buffer.getvalue())
                    copy = Path(folder) / f"{name}.jpg"
                    copy.write_bytes(buffer.getvalue())
                    asset = await engine.ingest.from_path(owner, path, IngestOptions())
                    await engine.enrich.wait_for_asset(owner.account_id, asset.id, 600)
                    job = await engine.jobs.latest_for_asset(owner.account_id, asset.id)
                    assert job and job.started_at and job.finished_at and job.status.value == "ready", job
                    record = AssetRecord(id=asset.id, account_id=owner.account_id, type="image", format="jpeg",
                                         filename=asset.filename, status="ready", created_at=asset.created_at,
                                         ai=asset.ai.model_dump())
                    alone = await asyncio.to_thread(models_alone, copy, settings, record)
                    if round_:
                        job_times.append((job.finished_at - job.started_at).total_seconds())
                        model_times.append(alone)
    job_mean, model_mean = statistics.mean(job_times), statistics.mean(model_times)
    print(f"images {len(job_times)} ({len(job_times) // repeat} photos x {repeat} rounds, after a warm-up round)")
    print(f"whole enrichment job  {job_mean * 1000:8.1f} ms per image")
    print(f"models alone (sum)    {model_mean * 1000:8.1f} ms per image")
    print(f"ratio                 {job_mean / model_mean:8.2f} x   (target <= 1.20)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    asyncio.run(run(parser.parse_args().repeat))
