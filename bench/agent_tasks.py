"""A scripted agent doing everyday tasks through Picsha's MCP tools, the way a model in Claude Desktop would.

No model is involved: each task is the tool call a model makes for it, in order, with the answers fed into
the next call. ``tests/agents`` runs it over stdio against ``picsha mcp`` and asserts what an agent needs
(links that open, answers within token budgets, dates that mean when a photo was taken);
``bench/tool_tokens.py`` prints the size of every answer.

    folder = make_folder(tmp)          # 20 files: photos with EXIF dates and places, an invoice, notes
    steps = await run_tasks(client, folder)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client
from mcp_types import CallToolResult, ImageContent, ResourceLink, TextContent

PARIS, LYON, LONDON = (48.8566, 2.3522), (45.7640, 4.8357), (51.5074, -0.1278)
JUNE_2024 = {"paris-louvre.jpg", "paris-seine.jpg", "lyon-market.jpg"}
INVOICE = "acme-invoice.txt"


@dataclass
class Step:
    task: str
    tool: str
    arguments: dict[str, Any]
    result: CallToolResult
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(block.text for block in self.result.content if isinstance(block, TextContent))

    @property
    def images(self) -> list[ImageContent]:
        return [block for block in self.result.content if isinstance(block, ImageContent)]

    @property
    def links(self) -> list[ResourceLink]:
        return [block for block in self.result.content if isinstance(block, ResourceLink)]


def make_folder(folder: Path) -> Path:
    """The user's folder: 17 photos (4 with places), an invoice and notes; the largest photo is paris-louvre.jpg."""
    from tests.factories import jpeg_with_exif

    folder.mkdir(parents=True, exist_ok=True)
    photos = {
        "paris-louvre.jpg": dict(lat=PARIS[0], lon=PARIS[1], taken="2024:06:14 10:31:00", width=1600, height=1200),
        "paris-seine.jpg": dict(lat=PARIS[0] + 0.01, lon=PARIS[1], taken="2024:06:15 19:02:00", width=800, height=600),
        "lyon-market.jpg": dict(lat=LYON[0], lon=LYON[1], taken="2024:06:20 09:12:00", width=640, height=480),
        "london-bridge.jpg": dict(lat=LONDON[0], lon=LONDON[1], taken="2023:09:02 16:40:00", width=640, height=480),
    }
    photos |= {f"img-{n:02d}.jpg": dict(taken=f"2025:0{1 + n % 9}:1{n % 10} 12:00:00", width=300 + 10 * n, height=200)
               for n in range(13)}
    for name, exif in photos.items():
        (folder / name).write_bytes(jpeg_with_exif(**exif))  # type: ignore[arg-type]
    (folder / INVOICE).write_text("ACME Corporation\nInvoice 2024-117\nConsulting, May 2024\nTotal due: 1,250.00 EUR\n")
    (folder / "notes.txt").write_text("Shopping list: apples, bread, coffee.\n")
    return folder


async def run_tasks(client: Client, folder: Path, *, on_step: Callable[[Step], None] | None = None) -> list[Step]:
    steps: list[Step] = []

    async def call(task: str, tool: str, **arguments: Any) -> Step:
        result = await client.call_tool(tool, arguments)
        step = Step(task, tool, arguments, result)
        if not result.is_error:
            step.data = result.structured_content or json.loads(step.text)
        steps.append(step)
        if on_step is not None:
            on_step(step)
        return step

    files = sorted(path for path in folder.iterdir() if path.name != "later.jpg")
    for path in files:
        await call("upload a folder", "upload_asset", path=str(path))
    await call("find the photos taken in June 2024", "search_assets", query="photos taken in June 2024")
    await call("find my photos from Paris", "search_assets", query="my photos from Paris")
    await call("find the ACME invoice", "search_assets", query="the ACME invoice")
    biggest = await call("find the biggest photo", "search_assets", filters={"type": "image"}, sort="largest", limit=1)
    photo = biggest.data["results"][0]["id"]
    await call("preview the biggest photo", "render_asset", id=photo, w=512)
    await call("render it as a 1200 px AVIF and share a link", "render_asset", id=photo, w=1200, format="avif",
               preview="none")
    await call("list everything", "search_assets", limit=20)
    await call("delete a file for good (a loose confirmation)", "organize_assets", action="purge", ids=[photo],
               confirm="yes")
    notes = next(item["id"] for item in steps[-2].data["results"] if item["filename"] == "notes.txt")
    await call("delete a file", "organize_assets", action="trash", ids=[notes])
    await call("ask what was spent", "get_usage")
    (folder / "later.jpg").write_bytes(_later_photo())
    await call("upload and wait for the analysis", "upload_asset", path=str(folder / "later.jpg"), wait_s=60,
               config={"auto_tag": True, "auto_summarize": True})
    return steps


def _later_photo() -> bytes:
    from tests.factories import jpeg_with_exif

    return jpeg_with_exif(taken="2026:11:30 08:00:00", width=500, height=400)
