"""Generation overhead: images from a fake provider on 127.0.0.1 (answering at once) beside uploads of the
same bytes, measured in the same run.

    python bench/generate.py [--calls 40] [--px 1024x576]

The provider answers instantly, so what is measured is Picsha's own path: the HTTP round trip with the
provider's JSON and base64, the checks of every image before any is stored, the ingest (stage, sniff,
probe, thumbnail, blob, catalog) and the ledger row. The baseline is ``ingest.from_base64`` of the same
image, which shares the ingest; the ratio is what generation adds around it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Engine  # noqa: E402
from engine.assets import IngestConfig, IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from engine.generation.models import GenerateRequest  # noqa: E402
from tests.factories import image_bytes, make_settings  # noqa: E402
from tests.fake_providers import fake_providers  # noqa: E402

ANALYSIS_OFF = IngestConfig(auto_tag=False, auto_summarize=False, vectorize=False, location_lookup=False,
                            pre_render_sizes=False, safe_search=False, ocr=False)


async def run(calls: int, width: int, height: int) -> None:
    picture = image_bytes(width, height, "png")
    with fake_providers() as fakes, tempfile.TemporaryDirectory() as folder:
        fakes.imagen.picture = picture
        fakes.imagen.delay_s = 0.0
        settings = make_settings(Path(folder), generate=fakes.settings(order=["imagen"]))
        async with Engine.open(settings, run_jobs=False) as engine:
            owner = Principal(account_id=engine.owner_account_id)
            encoded = base64.b64encode(picture).decode()
            await engine.ingest.from_base64(owner, encoded, "warm.png", IngestOptions(config=ANALYSIS_OFF))
            start = time.perf_counter()
            for index in range(calls):
                await engine.ingest.from_base64(owner, encoded, f"u{index}.png", IngestOptions(config=ANALYSIS_OFF))
            upload_s = time.perf_counter() - start
            start = time.perf_counter()
            for index in range(calls):
                await engine.generation.generate(owner, GenerateRequest(prompt=f"bench {index}", count=1))
            generate_s = time.perf_counter() - start
    print(f"{calls} calls, one {width}x{height} PNG ({len(picture) / 1e6:.2f} MB) each")
    print(f"  upload (base64, baseline) {calls / upload_s:7.1f} images/s  {1000 * upload_s / calls:7.1f} ms each")
    print(f"  generate (fake provider)  {calls / generate_s:7.1f} images/s  {1000 * generate_s / calls:7.1f} ms each")
    print(f"  ratio generate/upload: {generate_s / upload_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--px", default="1024x576")
    args = parser.parse_args()
    width, height = (int(side) for side in args.px.split("x"))
    asyncio.run(run(args.calls, width, height))


if __name__ == "__main__":
    main()
