"""A scrape job against a real local site: what it finds, stores, skips and why."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine
from engine.auth import Principal
from engine.scrape.models import ScrapeRequest, ScrapeResult
from tests.engine.scrape.site import STORED_FROM_INDEX, Site


async def scrape(engine: Engine, owner: Principal, **given: Any) -> ScrapeResult:
    queued = await engine.scrape.start(owner, ScrapeRequest(**given))
    assert await engine.jobs.wait(queued.job_id, 60)
    job = await engine.jobs.get(owner.account_id, queued.job_id)
    assert job.status.value == "ready", job.error
    return ScrapeResult.model_validate(job.result)


def paths(result: ScrapeResult, site: Site) -> set[str]:
    return {item.url.removeprefix(site.url("")) for item in result.assets.items}


def skipped(result: ScrapeResult, site: Site) -> dict[str, str]:
    return {s.url.removeprefix(site.url("")): s.reason.value for s in result.skipped}


async def test_sniper_mode_stores_every_image_form_once(engine: Engine, owner: Principal, site: Site) -> None:
    result = await scrape(engine, owner, url=site.url("/"))
    assert result.status.value == "completed"
    same = {"/img/same-a.jpg", "/img/same-b.jpg"}  # one image under two URLs: whichever came first is stored
    assert paths(result, site) - same == STORED_FROM_INDEX and len(paths(result, site) & same) == 1
    assert result.pages_visited == 1 and result.bytes_fetched > 0
    why = skipped(result, site)
    assert why["/private/secret.jpg"] == "robots"
    assert why["http://10.0.0.1/internal.jpg"] == "refused_address"
    assert why["/go/private.jpg"] == "refused_address"  # the redirect's target is checked at connect time
    assert [why.get(url) for url in sorted(same) if url in why] == ["duplicate"]
    assert why["/img/not-an-image.jpg"] == "refused_by_ingest"
    assert site.hits["/private/secret.jpg"] == 0
    assert site.hits["/busy.jpg"] == 2  # a 429 with Retry-After, then the image
    assert site.hits["/robots.txt"] == 1  # once per host, however many requests
    assert "/img/srcset-small.jpg" not in why and site.hits["/img/srcset-small.jpg"] == 0  # the largest only
    assert "/favicon.png" not in paths(result, site)  # icons only when asked
    assert all(agent.startswith("PicshaBot/") for agent in site.agents)


async def test_assets_carry_where_they_came_from(engine: Engine, owner: Principal, site: Site) -> None:
    result = await scrape(engine, owner, url=site.url("/"), tags=["gallery"], metadata={"campaign": "spring"},
                          include_icons=True, keyword_filter="favicon")
    assert [item.url for item in result.assets.items] == [site.url("/favicon.png")]
    item = result.assets.items[0]
    asset = await engine.assets.get(owner, item.id)
    assert asset.tags == ["gallery"]
    assert asset.metadata == {"campaign": "spring", "source_url": site.url("/favicon.png"),
                              "source_page": site.url("/"), "scrape_job_id": asset.metadata["scrape_job_id"]}
    assert asset.metadata["scrape_job_id"].startswith("job_")
    assert item.download_url == asset.urls.original and item.type == "image" and item.size == asset.meta.size
    assert skipped(result, site)["/img/plain.jpg"] == "filtered"


async def test_crawl_follows_links_to_its_depth_once_each(engine: Engine, owner: Principal, site: Site) -> None:
    result = await scrape(engine, owner, url=site.url("/"), sniper_mode=False, crawl_depth=2, max_files=50)
    found = paths(result, site)
    assert {"/img/level1.jpg", "/img/level2.jpg"} <= found
    assert "/img/level3.jpg" not in found and site.hits["/a/3.html"] == 0  # three levels down: past depth 2
    assert site.hits["/a/1.html"] == 1 and site.hits["/"] == 1  # the loop back home is not followed again
    assert site.hits["/private/page.html"] == 0
    why = skipped(result, site)
    assert why["/huge.html"] == "too_large"
    assert why["/slow.html"] == "error"  # cut off at the request time cap
    assert why["/bomb.html"] == "too_large"  # counted as it inflates, cut at the page cap
    assert why["/round.html"] == "error" and site.hits["/round.html"] == 6  # the first try and 5 redirects
    assert why["/private/page.html"] == "robots"
    assert not any("elsewhere" in url for url in why)  # another site: not followed
    assert result.pages_visited == 3  # /, /a/1.html, /a/2.html: the others were refused or cut off


async def test_filters_and_max_files(engine: Engine, owner: Principal, site: Site) -> None:
    result = await scrape(engine, owner, url=site.url("/"), min_width=100, min_height=60, max_files=3)
    assert result.assets.count == 3
    assert all(reason in {"too_small", "budget", "robots", "refused_address", "duplicate", "refused_by_ingest"}
               for reason in result.skipped_count)
    big = await scrape(engine, owner, url=site.url("/"), min_size_kb=1_000)
    assert big.assets.count == 0 and big.skipped_count["too_small"] >= 10
    assert big.note is not None and "too_small" in big.note


async def test_a_recent_scrape_answers_unless_forced(engine: Engine, owner: Principal, site: Site) -> None:
    first = await engine.scrape.start(owner, ScrapeRequest(url=site.url("/img/"), keyword_filter="nothing"))
    assert await engine.jobs.wait(first.job_id, 30)
    again = await engine.scrape.start(owner, ScrapeRequest(url=site.url("/img/"), keyword_filter="nothing"))
    assert again.cached and again.job_id == first.job_id
    forced = await engine.scrape.start(owner, ScrapeRequest(url=site.url("/img/"), keyword_filter="nothing", force=True))
    assert not forced.cached and forced.job_id != first.job_id
    assert await engine.jobs.wait(forced.job_id, 30)


async def test_unreachable_site_completes_with_zero_assets_and_says_why(engine: Engine, owner: Principal) -> None:
    result = await scrape(engine, owner, url="http://unreachable.invalid/")
    assert result.assets.count == 0
    assert result.note is not None and "does not resolve" in result.note


@pytest.mark.slow  # runs the offline tagging and caption models
async def test_ai_labeling_names_each_file_from_its_analysis(engine: Engine, owner: Principal, site: Site) -> None:
    config = {"auto_tag": True, "auto_summarize": True, "ocr": False, "vectorize": False, "safe_search": False}
    result = await scrape(engine, owner, url=site.url("/a/1.html"), ai_labeling=True, config=config)
    [item] = result.assets.items
    asset = await engine.assets.get(owner, item.id)
    assert item.ai_label and asset.ai.caption
    assert item.filename == asset.filename != "level1.jpg"
    assert item.filename.endswith(f"_{item.id[-4:]}.jpg")


async def test_a_page_robots_forbids_completes_with_zero_assets_and_says_why(engine: Engine, owner: Principal,
                                                                             site: Site) -> None:
    result = await scrape(engine, owner, url=site.url("/private/page.html"))
    assert result.status.value == "completed" and result.assets.count == 0 and result.pages_visited == 0
    assert result.skipped_count == {"robots": 1} and site.hits["/private/page.html"] == 0
    assert result.note is not None and "robots" in result.note
