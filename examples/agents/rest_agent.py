"""The same agent as ``mcp_agent.py``, over Picsha's REST API with plain httpx2 (no MCP).

Run from the repository root:
  ANTHROPIC_API_KEY=... PICSHA_URL=http://127.0.0.1:8000 PICSHA_API_KEY=sk_live_... \\
      python -m examples.agents.rest_agent [IMAGE_URL]
The tools come from ``GET /v1/tools``; each call is ``POST /v1/tools/{id}`` with the same JSON as MCP.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import httpx2

from examples.agents.loop import Block, require_api_key, run_agent, task


def rest_caller(http: httpx2.AsyncClient) -> Any:
    async def call(name: str, arguments: dict[str, Any]) -> tuple[list[Block], bool]:
        response = await http.post(f"/v1/tools/{name}", json=arguments)
        return [{"type": "text", "text": response.text}], response.status_code >= 400

    return call


async def rest_tools(http: httpx2.AsyncClient) -> list[Block]:
    listed = (await http.get("/v1/tools")).raise_for_status().json()["tools"]
    return [
        {"name": t["id"], "description": f"{t['description']}\nExample: {json.dumps(t['example'])}",
         "input_schema": t["input_schema"]}
        for t in listed
    ]


async def main(image_url: str | None = None) -> None:
    require_api_key()
    key = os.environ.get("PICSHA_API_KEY")
    if not key:
        sys.exit("PICSHA_API_KEY is not set: create one with `picsha keys create --name agent` and export it.")
    from anthropic import AsyncAnthropic

    base_url = os.environ.get("PICSHA_URL", "http://127.0.0.1:8000")
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(base_url=base_url, headers=headers, timeout=120) as http:
        tools = await rest_tools(http)
        answer = await run_agent(AsyncAnthropic().messages.create, tools, rest_caller(http), task(image_url))
    print(answer)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
