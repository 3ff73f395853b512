"""organize_assets through the official MCP client: trash, tags, folders, collections, duplicates."""

from __future__ import annotations

from mcp import Client

from picsha_mcp.server import PicshaServer
from tests.mcp.conftest import error_of, ok, upload


async def test_an_agent_organises_the_library(server: PicshaServer) -> None:
    async with Client(server) as client:
        one, two = await upload(client, 120, 80, name="one.jpg"), await upload(client, 90, 60, name="two.jpg")
        ids = [one["id"], two["id"]]

        tagged = ok(await client.call_tool("organize_assets", {"action": "tag", "ids": ids, "tags": ["q3"]}))
        assert tagged["done"] == 2 and tagged["failed"] == []
        found = ok(await client.call_tool("search_assets", {"filters": {"tags": ["q3"]}}))
        assert sorted(row["id"] for row in found["results"]) == sorted(ids)

        folder = ok(await client.call_tool("organize_assets", {"action": "new_folder", "name": "Reports"}))["items"][0]
        moved = ok(await client.call_tool("organize_assets", {"action": "move", "ids": ids[:1], "folder_id": folder["id"]}))
        assert moved["done"] == 1
        folders = ok(await client.call_tool("organize_assets", {"action": "folders"}))["items"]
        assert [(f["name"], f["asset_count"]) for f in folders] == [("Reports", 1)]

        col = ok(await client.call_tool("organize_assets", {"action": "new_collection", "name": "Best"}))["items"][0]
        ok(await client.call_tool("organize_assets", {"action": "add_to_collection", "ids": ids,
                                                      "collection_id": col["id"]}))
        listed = ok(await client.call_tool("organize_assets", {"action": "collections"}))["items"]
        assert listed[0]["asset_count"] == 2 and listed[0]["cover_asset_id"] == ids[0]

        trashed = ok(await client.call_tool("organize_assets", {"action": "trash", "ids": ids[1:]}))
        assert trashed["done"] == 1
        assert error_of(await client.call_tool("get_asset", {"id": two["id"]}))["code"] == "asset_not_found"
        ok(await client.call_tool("organize_assets", {"action": "restore", "ids": ids[1:]}))
        assert ok(await client.call_tool("get_asset", {"id": two["id"]}))["id"] == two["id"]

        refused = error_of(await client.call_tool("organize_assets", {"action": "purge", "ids": ids[1:]}))
        assert refused["code"] == "confirmation_required"
        purged = ok(await client.call_tool("organize_assets", {"action": "purge", "ids": ids[1:], "confirm": True}))
        assert purged["done"] == 1
        missing = error_of(await client.call_tool("organize_assets", {"action": "tag", "ids": ids}))
        assert missing["code"] == "bulk_tags_required"
        bad = error_of(await client.call_tool("organize_assets", {"action": "explode"}))
        assert bad["code"] == "invalid_request"
        assert ok(await client.call_tool("organize_assets", {"action": "duplicates"}))["groups"] == []


async def test_the_sorted_listing_search_assets_took_over(server: PicshaServer) -> None:
    async with Client(server) as client:
        await upload(client, 300, 200, name="big.jpg")
        await upload(client, 40, 30, name="small.jpg")
        largest = ok(await client.call_tool("search_assets", {"sort": "largest", "limit": 1, "filters": {"type": "image"}}))
        assert [row["filename"] for row in largest["results"]] == ["big.jpg"] and largest["total"] == 2
        second = ok(await client.call_tool("search_assets", {"sort": "largest", "limit": 1, "offset": 1}))
        assert [row["filename"] for row in second["results"]] == ["small.jpg"]
        refused = error_of(await client.call_tool("search_assets", {"sort": "largest", "filters": {"tags": ["x"]}}))
        assert refused["code"] == "search_sort_filters"


async def test_a_pipeline_finds_then_organises(server: PicshaServer) -> None:
    async with Client(server) as client:
        photo = await upload(client, 200, 100, name="harbour.jpg")
        answer = ok(await client.call_tool("run_pipeline", {"steps": [
            {"name": "found", "action": "search", "params": {"sort": "newest", "limit": 1}},
            {"name": "filed", "action": "organize", "params": {"action": "tag", "ids": ["$found.results.0.id"],
                                                             "tags": ["filed"]}},
        ]}))
        assert answer["success"] is True and answer["pipeline"]["steps"][1]["output"]["done"] == 1
        assert ok(await client.call_tool("get_asset", {"id": photo["id"]}))["tags"] == ["filed"]
