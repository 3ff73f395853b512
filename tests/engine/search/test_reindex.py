"""``picsha reindex`` rebuilds the index from the catalog: lost rows come back, with text vectors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from engine import Engine
from engine.assets import IngestConfig, IngestOptions
from engine.auth import Principal
from engine.search.models import SearchRequest
from picsha_mcp.cli import app
from tests.factories import image_bytes, make_settings


async def test_reindex_restores_a_wiped_index(tmp_path: Path) -> None:
    async with Engine.open(make_settings(tmp_path)) as engine:
        principal = Principal(account_id=engine.owner_account_id)
        ids = []
        for name, words, vectorize in (("a.png", "marmalade jar", False), ("b.png", "violin case", True)):
            path = engine.work_dir / name
            path.write_bytes(image_bytes(20, 20, "png"))
            options = IngestOptions(description=words, config=IngestConfig(vectorize=vectorize))
            ids.append((await engine.ingest.from_path(principal, path, options)).id)
        assert await engine.enrich.wait_for_asset(principal.account_id, ids[1], 120)
        await engine.search.index.reset()
        assert (await engine.search.search(principal, SearchRequest(query="marmalade"))).results == []
        assert await engine.enrich.reindex() == 2
        assert [h.id for h in (await engine.search.search(principal, SearchRequest(query="marmalade"))).results] == [ids[0]]
        assert await engine.search.index.count_all("has_text_vec") == 1  # only the upload that asked for vectors
        found = await engine.search.search(principal, SearchRequest(query="a fiddle"))  # meaning, not words
        assert [h.id for h in found.results] == [ids[1]] and "text_vector" in found.paths


def test_the_cli_command_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reindex"], env={"PICSHA_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 0, result.output
    assert "0 assets indexed" in result.output
