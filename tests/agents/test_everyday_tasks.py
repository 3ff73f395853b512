"""A scripted agent (bench/agent_tasks.py) drives ``picsha mcp`` over stdio, as Claude Desktop runs it, and
gets what an agent needs: links that open, small answers, dates that mean when a photo was taken."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from bench.agent_tasks import INVOICE, JUNE_2024, Step, make_folder, run_tasks
from bench.tiktoken_cache import CACHE_DIR, CACHE_NAME, use_cache_dir
from tests.processes import picsha_env

DEFAULT_RESULT_BUDGET = 2000  # tokens of any default answer
LIST_PAGE_BUDGET = 1200  # tokens of a page of 20 list rows


def by_task(steps: list[Step], task: str) -> Step:
    return next(step for step in steps if step.task == task)


def filenames(step: Step) -> list[str]:
    return [row["filename"] for row in step.data["results"]]


@pytest.mark.slow
async def test_everyday_tasks_over_stdio(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "Pictures")
    env = picsha_env(tmp_path / "data", PICSHA_INGEST__PATH_ROOTS=json.dumps([str(folder)]))
    params = StdioServerParameters(command=sys.executable, args=["-m", "picsha_mcp.cli", "mcp"], env=env)
    async with Client(params) as client:
        steps = await run_tasks(client, folder)
        render = by_task(steps, "render it as a 1200 px AVIF and share a link")
        async with httpx2.AsyncClient(timeout=30) as http:  # only picsha mcp runs: its own links must open
            fetched = await http.get(render.data["url"])
            original = await http.get(by_task(steps, "upload a folder").data["urls"]["original"])

    uploads = [step for step in steps if step.task == "upload a folder"]
    assert len(uploads) == 19 and not any(step.result.is_error for step in uploads)

    june = by_task(steps, "find the photos taken in June 2024")
    assert set(filenames(june)) == JUNE_2024, june.text  # EXIF time, not the upload time
    assert june.data["filters"]["taken_after"].startswith("2024-06-01")

    paris = by_task(steps, "find my photos from Paris")
    assert set(filenames(paris)) == {"paris-louvre.jpg", "paris-seine.jpg"}, paris.text
    assert all("Paris" in row.get("place", "") for row in paris.data["results"])

    invoice = by_task(steps, "find the ACME invoice")
    assert filenames(invoice)[0] == INVOICE and invoice.data["results"][0]["why"]

    assert by_task(steps, "find the biggest photo").data["results"][0]["filename"] == "paris-louvre.jpg"
    preview = by_task(steps, "preview the biggest photo")
    assert len(preview.images) == 1  # the default preview: a thumb
    assert render.images == [] and render.data["format"] == "avif" and render.data["width"] == 1200
    assert [link.mime_type for link in render.links] == ["image/avif"]
    assert render.links[0].name.endswith(".avif")
    assert render.data["links"] == "this_session"  # loopback links that live as long as the session
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/avif"
    assert original.status_code == 200 and original.content == (folder / uploads[0].data["filename"]).read_bytes()

    listed = by_task(steps, "list everything")
    assert len(listed.data["results"]) == 19 and all("urls" not in row for row in listed.data["results"])
    loose = by_task(steps, "delete a file for good (a loose confirmation)")
    assert loose.result.is_error and "confirm" in loose.text
    assert by_task(steps, "delete a file").data["done"] == 1
    assert by_task(steps, "ask what was spent").data["breakdown"]["storage_gb"] > 0

    waited = by_task(steps, "upload and wait for the analysis")
    assert waited.data["status"] == "ready" and "colors" in waited.data["analysis"]["done"]
    assert waited.data["ai"]["colors"] and waited.data["analysis"]["skipped"].get("clip") == "no CLIP weights"

    if not (CACHE_DIR / CACHE_NAME).exists():
        pytest.skip("cl100k_base not cached (`make tiktoken-cache`): the token budgets were not checked")
    use_cache_dir()
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    sizes = {f"{step.task}: {step.tool}": len(encoding.encode(step.text)) for step in steps}
    assert max(sizes.values()) <= DEFAULT_RESULT_BUDGET, sizes
    assert sizes["list everything: search_assets"] * 20 / len(listed.data["results"]) <= LIST_PAGE_BUDGET, sizes
