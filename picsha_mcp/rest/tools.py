"""Routes generated from the tool registry: ``GET /v1/tools``, ``POST /v1/tools/{id}``, ``/llms*.txt``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import ValidationError

from engine.auth.scopes import Scope, require
from engine.errors import NotFound
from picsha_mcp.rest import image_tools
from picsha_mcp.rest.body_cap import read_json_object
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from picsha_mcp.rest.access import Access, needs
from picsha_mcp.rest.errors import validation_error
from tools_manifest.gate import admit_tool
from tools_manifest.calls import ToolCall, Transport, calling
from tools_manifest.docs import llms_full_txt, llms_txt, tool_entry
from tools_manifest.image_tools import get_image_tool, image_tools as image_tool_specs
from tools_manifest.registry import all_tools, get_tool

router = APIRouter(tags=["tools"])

TOOL_BODY = {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}


@router.get("/v1/tools")
@needs(Access.PUBLIC)
async def list_tools() -> dict[str, Any]:
    """Every tool: id, description, annotations, cost and the input and output JSON schemas."""
    return {"tools": [tool_entry(spec) for spec in all_tools()]}


def _no_tool(tool_id: str) -> NotFound:
    names = [tool.id for tool in all_tools()] + [tool.id for tool in image_tool_specs()]
    return NotFound(f"No tool {tool_id!r}. Tools: {', '.join(names)}.", code="tool_not_found", valid=names)


@router.post("/v1/tools/{tool_id}", openapi_extra=TOOL_BODY)
@needs(Access.BY_TOOL)
async def call_tool(tool_id: str, request: Request, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Run one tool. Agent tools take the same JSON as their MCP form and answer their output JSON; image
    tools take a multipart file + settings (answering the file) or JSON on stored assets."""
    image_tool = get_image_tool(tool_id)
    if image_tool is not None:
        require(principal, Scope.TOOLS)
        await admit_tool(engine, principal, image_tool)
        return await image_tools.run_tool(image_tool, request, engine, principal)
    spec = get_tool(tool_id)
    if spec is None:
        raise _no_tool(tool_id)
    require(principal, spec.scope)
    try:
        given = spec.parse(await read_json_object(request, engine.settings.ingest.max_json_bytes))
    except ValidationError as error:
        raise validation_error(error) from error
    await admit_tool(engine, principal, spec)
    with calling(ToolCall(Transport.REST)):
        output = await spec.run(engine, principal, given)
    return JSONResponse(output.model_dump(mode="json"))


@router.post("/v1/tools/{tool_id}/batch", response_class=StreamingResponse)
@needs(Scope.TOOLS)
async def call_tool_batch(tool_id: str, request: Request, engine: EngineDep, principal: PrincipalDep) -> StreamingResponse:
    """An image tool on many files (multipart ``files`` + ``settings``): a ZIP streamed as results finish."""
    image_tool = get_image_tool(tool_id)
    if image_tool is None:
        raise _no_tool(tool_id)
    await admit_tool(engine, principal, image_tool)
    return await image_tools.run_batch(image_tool, request, engine, principal)


@router.get("/llms.txt", include_in_schema=False)
@needs(Access.PUBLIC)
async def llms() -> PlainTextResponse:
    return PlainTextResponse(llms_txt(), media_type="text/markdown; charset=utf-8")


@router.get("/llms-full.txt", include_in_schema=False)
@needs(Access.PUBLIC)
async def llms_full() -> PlainTextResponse:
    return PlainTextResponse(llms_full_txt(), media_type="text/markdown; charset=utf-8")
