"""The same asset flow with the catalog on a real PostgreSQL server (skipped where none is reachable)."""

from __future__ import annotations

from pathlib import Path

from engine.settings import CatalogSettings
from tests.conftest import app_client
from tests.factories import image_bytes, make_settings


async def test_asset_flow_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, catalog=CatalogSettings(url=postgres_url))
    async with app_client(settings) as api:
        http = api.http
        alice, bob = await api.account("alice"), await api.account("bob")
        data = image_bytes(120, 80, "png")
        created = await http.post("/v1/assets", headers=alice, files={"file": ("pg.png", data)}, data={"tags": "x,y"})
        assert created.status_code == 201, created.text
        asset = created.json()
        assert asset["tags"] == ["x", "y"] and asset["created_at"].endswith("Z")
        assert (await http.get("/v1/assets", headers=alice, params={"q": "PG"})).json()["total"] == 1
        assert (await http.get("/v1/assets", headers=bob)).json()["total"] == 0
        patched = await http.patch(f"/v1/assets/{asset['id']}", headers=alice, json={"metadata": {"k": 1}})
        assert patched.json()["metadata"] == {"k": 1}
        assert (await http.get(f"/v1/assets/{asset['id']}/content", headers=alice)).content == data
        usage = (await http.get("/v1/usage", headers=alice)).json()
        assert usage["breakdown"]["bandwidth_gb"] > 0
        assert (await http.delete(f"/v1/assets/{asset['id']}", headers=alice)).status_code == 200
        assert (await http.get("/v1/assets", headers=alice)).json()["total"] == 0
