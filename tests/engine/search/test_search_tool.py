"""The ``search_assets`` tool from the registry, called the way both front doors call it."""

from __future__ import annotations

import pyvips

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from tests.factories import image_bytes
from tools_manifest.registry import get_tool
from tools_manifest.search import SearchAssetsInput, SearchAssetsOutput
from tools_manifest.spec import ImageAttachment


async def test_search_assets_returns_brief_rows_and_asked_for_extras(engine: Engine, owner: Principal) -> None:
    for name, words in (("lighthouse.png", "a red lighthouse on the cliff"), ("barn.png", "an old red barn")):
        path = engine.work_dir / name
        path.write_bytes(image_bytes(300, 200, "png"))
        await engine.ingest.from_path(owner, path, IngestOptions(description=words))
    tool = get_tool("search_assets")
    assert tool is not None and tool.hints.read_only and tool.input is SearchAssetsInput

    plain = await tool.run(engine, owner, SearchAssetsInput(query="lighthouse"))
    assert isinstance(plain, SearchAssetsOutput) and [r["filename"] for r in plain.results] == ["lighthouse.png"]
    assert plain.results[0]["px"] == "300x200" and plain.results[0]["about"] == "a red lighthouse on the cliff"
    assert "urls" not in plain.results[0] and plain.attachments == []  # brief rows: no links unless asked
    assert plain.results[0]["why"] and plain.results[0]["score"] > 0

    linked = await tool.run(engine, owner, SearchAssetsInput(query="lighthouse", fields=["urls"]))
    assert "sig=" in linked.results[0]["urls"]["original"] and "sig=" in linked.results[0]["urls"]["thumbnail"]

    both = await tool.run(engine, owner, SearchAssetsInput(query="red", preview="thumb", limit=2))
    assert {r["filename"] for r in both.results} == {"lighthouse.png", "barn.png"}
    previews = [a for a in both.attachments if isinstance(a, ImageAttachment)]
    assert len(previews) == 2 and all(p.mime_type.startswith("image/") and 0 < len(p.data) < 1_000_000 for p in previews)
    assert all(max(pyvips.Image.new_from_buffer(p.data, "").width, pyvips.Image.new_from_buffer(p.data, "").height) <= 512
               for p in previews)
    assert "attachments" not in both.model_dump()

    full = await tool.run(engine, owner, SearchAssetsInput(query="lighthouse", detail="full"))
    assert full.results[0]["meta"]["sha256"] and full.results[0]["urls"]["original"]
