"""Search quality: recall@1 and recall@5 of 26 natural-language queries with known answers.

    python bench/search_quality.py

Indexes, through the real engine with every analysis on, the photos that scikit-image and scikit-learn
ship (with GPS written into their EXIF), images of rendered text (found through OCR) and plain-text
documents; then runs each query on the full-text path, the MiniLM text-vector path, the CLIP path (when
weights are present) and the fused hybrid the API uses. Filters the parser lifts from the sentence
("in Paris", "photos") apply to every path alike.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Engine, Settings  # noqa: E402
from engine.assets import IngestOptions  # noqa: E402
from engine.auth import Principal  # noqa: E402
from engine.search.filters import where_clause  # noqa: E402
from engine.search.models import SearchFilters  # noqa: E402
from engine.search.service import merge_filters  # noqa: E402

PLACES = {"astronaut": (48.8566, 2.3522, "Paris"), "coffee": (35.6762, 139.6503, "Tokyo"),
          "chelsea": (52.2053, 0.1218, "Cambridge"), "rocket": (40.7128, -74.0060, "New York"),
          "china": (-33.8688, 151.2093, "Sydney"), "flower": (30.0444, 31.2357, "Cairo")}
# What each photo shows: only image understanding (CLIP) can answer these; the text path cannot.
CONTENT = {"chelsea": "a cat", "coffee": "a cup of coffee", "rocket": "a rocket on the launch pad",
           "flower": "a flower"}
SIGNS = {
    "sign_platform": (["PLATFORM 9", "KINGS CROSS"], "which platform at kings cross"),
    "sign_invoice": (["INVOICE 4471", "ACME LIMITED"], "acme invoice"),
    "sign_parking": (["NO PARKING", "FIRE LANE"], "no parking sign"),
    "sign_menu": (["PIZZA MARGHERITA", "PIZZA DIAVOLA"], "the pizza menu"),
    "sign_wifi": (["WIFI PASSWORD", "BLUEBIRD42"], "wifi password"),
}
DOCUMENTS = {
    "q3_results": ("Quarterly revenue grew twelve percent, driven by cloud subscriptions. Operating margin "
                   "improved and the board approved a dividend.", "financial results for the quarter"),
    "sourdough": ("Mix flour, water and starter, let the dough rise overnight, shape the loaf and bake it at "
                  "high heat in a covered pot.", "how to bake bread at home"),
    "marathon": ("Build weekly mileage slowly, add one long run each week and taper for two weeks before "
                 "race day.", "training plan for a long distance race"),
    "lease": ("The tenant shall pay rent monthly; the landlord maintains the roof and heating; either party "
              "may end the lease with two months notice.", "apartment rental agreement"),
    "tomatoes": ("Plant tomatoes in full sun, water deeply at the roots and stake the stems as they grow.",
                 "growing vegetables in the garden"),
    "vaccines": ("Children receive the measles vaccine in two doses; side effects are usually mild and short.",
                 "immunisation schedule for kids"),
    "python_tips": ("Use list comprehensions, type hints and virtual environments; write tests with pytest.",
                    "advice for writing better code"),
    "volcano": ("Magma rises through the crust and erupts as lava, ash and gas from the volcano's vent.",
                "how eruptions happen"),
    "coffee_brew": ("Grind the beans medium-fine, pour water just off the boil and steep for four minutes.",
                    "making a good cup of coffee"),
    "trip_plan": ("Day one: museum and old town; day two: boat tour of the fjords; day three: fly home.",
                  "itinerary for a holiday in norway"),
    "solar": ("Photovoltaic panels on the roof turn sunlight into electricity; an inverter feeds the surplus "
              "to the grid.", "renewable energy for a house"),
}


def _rational(value: float) -> tuple[Fraction, Fraction, Fraction]:
    degrees, minutes = int(value), int((value - int(value)) * 60)
    return Fraction(degrees), Fraction(minutes), Fraction(round(((value - degrees) * 60 - minutes) * 6000), 100)


def photo_with_gps(pixels: np.ndarray, lat: float, lon: float) -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), _rational(abs(lat))
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), _rational(abs(lon))
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels[:, :, :3])).save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def sign(lines: list[str]) -> bytes:
    image = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((30, 30 + row * 90), line, fill="black", font=ImageFont.load_default(size=54))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def corpus() -> list[tuple[str, bytes, list[str]]]:
    """(filename, bytes, the queries that should find it)."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    pixels = {name: getattr(data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")}
    samples = load_sample_images()
    pixels |= {Path(n).stem: img for n, img in zip(samples.filenames, samples.images, strict=True)}
    items = [(f"IMG_{i:04d}.jpg", photo_with_gps(pixels[name], *PLACES[name][:2]),
              [f"photos in {PLACES[name][2]}"] + ([CONTENT[name]] if name in CONTENT else []))
             for i, name in enumerate(PLACES)]
    items += [(f"scan_{i:03d}.png", sign(lines), [query]) for i, (lines, query) in enumerate(SIGNS.values())]
    items += [(f"{name}.txt", text.encode(), [query]) for name, (text, query) in DOCUMENTS.items()]
    return items


async def rank(engine: Engine, account: str, query: str) -> dict[str, list[str]]:
    text, filters = merge_filters(SearchFilters(), query)
    where, index, pool = where_clause(filters), engine.search.index, 50
    if not text:
        only = await index.filtered(account, where, pool)
        return {"full text": only, "text vector": only, "hybrid": only}
    out = {"full text": [i for i, _ in await index.full_text(account, text, where, pool)]}
    vector = engine.search.models.embed_texts([text])[0]
    out["text vector"] = [i for i, _ in await index.nearest(account, "text_vec", vector, where, pool, -1.0)]
    clip = engine.search.models.clip()
    if clip is not None:
        out["clip"] = [i for i, _ in await index.nearest(account, "clip_vec", clip.embed_texts([text])[0], where, pool, -1.0)]
    out["hybrid"] = [i for i, _ in (await engine.search.ranked(account, text, filters))[0]]
    return out


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with Engine.open(Settings(data_dir=Path(folder) / "data")) as engine:
            owner = Principal(account_id=engine.owner_account_id)
            expected: list[tuple[str, str]] = []
            for filename, data, queries in corpus():
                path = engine.work_dir / filename
                path.write_bytes(data)
                asset = await engine.ingest.from_path(owner, path, IngestOptions())
                expected += [(query, asset.id) for query in queries]
            for _query, asset_id in expected:
                await engine.enrich.wait_for_asset(owner.account_id, asset_id, 600)
            hits: dict[str, list[tuple[bool, bool]]] = {}
            ranked_hybrid: dict[str, list[str]] = {}
            for query, asset_id in expected:
                rankings = await rank(engine, owner.account_id, query)
                ranked_hybrid[query] = rankings["hybrid"]
                for path_name, ranking in rankings.items():
                    hits.setdefault(path_name, []).append((ranking[:1] == [asset_id], asset_id in ranking[:5]))
    print(f"queries {len(expected)} (6 photos by place, 4 by what they show, 5 signs by OCR text, "
          "11 documents by meaning)")
    print(f"{'path':12s} recall@1  recall@5")
    for path_name, found in hits.items():
        print(f"{path_name:12s} {sum(a for a, _ in found) / len(found):8.2f}  {sum(b for _, b in found) / len(found):8.2f}")
    misses = [query for query, asset_id in expected if asset_id not in ranked_hybrid.get(query, [])[:5]]
    print("hybrid misses at 5: " + ("; ".join(misses) or "none"))
    if "clip" not in hits:
        print("clip         (no CLIP weights on this machine: the CLIP path did not run)")


if __name__ == "__main__":
    asyncio.run(main())
