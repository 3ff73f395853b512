"""Routes generated from the tool registry: ``GET /v1/tools``, ``POST /v1/tools/{id}``, ``/llms*.txt``."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import ValidationError

from engine.errors import InvalidInput, NotFound
from picsha_mcp.rest import image_tools
from picsha_mcp.rest.body_cap import check_declared, read_capped
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from picsha_mcp.rest.errors import validation_error
from picsha_mcp.rest.json_text import parse_json
from tools_manifest.calls import ToolCall, Transport, calling
from tools_manifest.docs import llms_full_txt, llms_txt, tool_entry
from tools_manifest.image_tools import get_image_tool, image_tools as image_tool_specs
from tools_manifest.registry import all_tools, get_tool

router = APIRouter(tags=["tools"])

TOOL_BODY = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}


@router.get("/v1/tools")
async def list_tools() -> dict[str, Any]:
    """Every tool: id, description, annotations, cost and the input and output JSON schemas."""
    return {"tools": [tool_entry(spec) for spec in all_tools()]}


async def _json_object(request: Request, limit: int) -> dict[str, Any]:
    """Read under the JSON cap (a tool input may carry a file as base64) and parsed off the event loop."""
    check_declared(request.headers, limit)
    raw = await read_capped(request.stream(), limit)
    if not raw.strip():
        return {}
    body = await anyio.to_thread.run_sync(lambda: parse_json(raw, what="The body", code="invalid_json"))
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object of the tool's input.", code="invalid_json")
    return body


def _no_tool(tool_id: str) -> NotFound:
    names = [tool.id for tool in all_tools()] + [tool.id for tool in image_tool_specs()]
    return NotFound(f"No tool {tool_id!r}. Tools: {', '.join(names)}.", code="tool_not_found", valid=names)


@router.post("/v1/tools/{tool_id}", openapi_extra=TOOL_BODY)
async def call_tool(tool_id: str, request: Request, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Run one tool. Agent tools take the same JSON as their MCP form and answer their output JSON; image
    tools take a multipart file + settings (answering the file) or JSON on stored assets."""
    image_tool = get_image_tool(tool_id)
    if image_tool is not None:
        return await image_tools.run_tool(image_tool, request, engine, principal)
    spec = get_tool(tool_id)
    if spec is None:
        raise _no_tool(tool_id)
    try:
        given = spec.parse(await _json_object(request, engine.settings.ingest.max_json_bytes))
    except ValidationError as error:
        raise validation_error(error) from error
    with calling(ToolCall(Transport.REST)):
        output = await spec.run(engine, principal, given)
    return JSONResponse(output.model_dump(mode="json"))


@router.post("/v1/tools/{tool_id}/batch", response_class=StreamingResponse)
async def call_tool_batch(tool_id: str, request: Request, engine: EngineDep, principal: PrincipalDep) -> StreamingResponse:
    """An image tool on many files (multipart ``files`` + ``settings``): a ZIP streamed as results finish."""
    image_tool = get_image_tool(tool_id)
    if image_tool is None:
        raise _no_tool(tool_id)
    return await image_tools.run_batch(image_tool, request, engine, principal)


@router.get("/llms.txt", include_in_schema=False)
async def llms() -> PlainTextResponse:
    return PlainTextResponse(llms_txt(), media_type="text/markdown; charset=utf-8")


@router.get("/llms-full.txt", include_in_schema=False)
async def llms_full() -> PlainTextResponse:
    return PlainTextResponse(llms_full_txt(), media_type="text/markdown; charset=utf-8")
