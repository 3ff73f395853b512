"""The MCP server: every tool of the registry, plus Picsha's resources (asset JSON, previews, renders).

One ``PicshaServer`` serves one transport. Tools and resources are served by overriding ``MCPServer``'s
listing and calling methods, so the schemas published are exactly the registry's pydantic models (no
signature is reverse-engineered from a Python function) and errors keep the engine's code and message.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    ContentBlock,
    ImageContent,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
    ResourceLink,
    ResourceTemplate,
    TextContent,
    Tool,
    ToolAnnotations,
)
from pydantic import AnyUrl, BaseModel, ValidationError

from engine import Engine
from engine.auth import Principal
from engine.errors import NotFound, PicshaError, Unauthorized
from picsha_mcp import __version__
from picsha_mcp.resources import RESOURCE_TEMPLATES, AssetResources, parse_uri
from picsha_mcp.rest.errors import validation_error
from tools_manifest.calls import ToolCall, Transport, calling
from tools_manifest.registry import all_tools
from tools_manifest.spec import ImageAttachment, LinkAttachment, ToolSpec

log = logging.getLogger("picsha.mcp")

EngineSource = Callable[[], Engine]
Authenticate = Callable[[Engine, ServerRequestContext[Any, Any] | None], Awaitable[Principal]]

INSTRUCTIONS = (
    "Picsha stores, understands and renders media. Upload with upload_asset (url, base64 or, locally, path), "
    "then use the returned id (as_...) with get_asset, render_asset, update_asset or delete_asset. "
    "Images you receive are previews sized for you; share the signed URLs with people."
)


async def as_owner(engine: Engine, _request: ServerRequestContext[Any, Any] | None) -> Principal:
    """Local transports (stdio, in-memory): the caller is the machine's owner account."""
    return Principal(account_id=engine.owner_account_id)


async def from_http_request(engine: Engine, request: ServerRequestContext[Any, Any] | None) -> Principal:
    """Streamable HTTP: the key was checked at the door (``picsha_mcp.rest.mcp_mount``), per HTTP request."""
    http = request.request if request is not None else None
    principal = getattr(getattr(http, "state", None), "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthorized("Send 'Authorization: Bearer <key>'.", code="unauthorized")
    return principal


def tool_annotations(spec: ToolSpec[Any, Any]) -> ToolAnnotations:
    hints = spec.hints
    return ToolAnnotations(  # no title here: the tool's own title says it (every token is read each turn)
        read_only_hint=hints.read_only, destructive_hint=hints.destructive,
        idempotent_hint=hints.idempotent, open_world_hint=hints.open_world,
    )


def mcp_tool(spec: ToolSpec[Any, Any]) -> Tool:
    return Tool(
        name=spec.id, title=spec.title, description=spec.full_description(), input_schema=spec.input_schema(),
        output_schema=spec.output_schema(), annotations=tool_annotations(spec),
    )


def error_result(error: PicshaError) -> CallToolResult:
    """The REST error body, as the tool result's text: the same code and message everywhere."""
    body = {"error": error.to_dict()}
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(body, default=str))], is_error=True)


def _attachment_blocks(output: BaseModel) -> list[ContentBlock]:
    blocks: list[ContentBlock] = []
    for item in getattr(output, "attachments", []):
        if isinstance(item, ImageAttachment):
            data = base64.b64encode(item.data).decode()
            blocks.append(ImageContent(type="image", data=data, mime_type=item.mime_type))
        elif isinstance(item, LinkAttachment):
            blocks.append(ResourceLink(
                type="resource_link", uri=item.uri, name=item.name, mime_type=item.mime_type,
                description=item.description,
            ))
    return blocks


def success_result(output: BaseModel) -> CallToolResult:
    data = output.model_dump(mode="json")
    text = TextContent(type="text", text=json.dumps(data, separators=(",", ":")))
    return CallToolResult(content=[text, *_attachment_blocks(output)], structured_content=data)


class PicshaServer(MCPServer[Any]):
    def __init__(self, engine: EngineSource, *, transport: Transport, authenticate: Authenticate = as_owner):
        super().__init__(
            name="picsha", title="Picsha", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
        )
        self.engine = engine
        self.transport = transport
        self.authenticate = authenticate
        self.tools = {spec.id: spec for spec in all_tools()}
        self.listed = [mcp_tool(spec) for spec in self.tools.values()]  # schemas are made once, not per list

    # -- tools -------------------------------------------------------------------------------------

    async def list_tools(self) -> list[Tool]:
        return list(self.listed)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult:
        try:
            spec = self.tools.get(name)
            if spec is None:
                raise NotFound(f"No tool {name!r}. Tools: {', '.join(self.tools)}.", code="tool_not_found")
            return await self._run(spec, arguments, context)
        except PicshaError as error:
            return error_result(error)
        except Exception:  # the same promise as REST's 500 handler: logged, never shown
            log.exception("tool %s failed", name)
            return error_result(PicshaError("An unexpected error occurred; it has been logged.",
                                            code="internal_error", status=500))

    async def _run(
        self, spec: ToolSpec[Any, Any], arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult:
        try:
            given = spec.input.model_validate(arguments)
        except ValidationError as error:
            raise validation_error(error) from error
        engine = self.engine()
        request = _request_of(context)
        principal = await self.authenticate(engine, request)

        async def progress(done: float, total: float | None, message: str | None) -> None:
            if context is not None and request is not None:
                await context.report_progress(done, total, message)

        with calling(ToolCall(self.transport, progress=progress)):
            output = await spec.run(engine, principal, given)
        return success_result(output)

    # -- resources ---------------------------------------------------------------------------------

    async def list_resource_templates(self) -> list[ResourceTemplate]:
        return list(RESOURCE_TEMPLATES)

    async def list_resources(self) -> list[Resource]:
        return (await self._resource_page(None, None)).resources

    async def _handle_list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        # MCPServer's own handler ignores the cursor; assets are many, so the list is paged here.
        return await self._resource_page(ctx, params.cursor if params else None)

    async def _resource_page(
        self, ctx: ServerRequestContext[Any, Any] | None, cursor: str | None
    ) -> ListResourcesResult:
        engine = self.engine()
        try:
            principal = await self.authenticate(engine, ctx)
            return await AssetResources(engine, principal).page(cursor)
        except PicshaError as error:
            raise _protocol_error(error) from error

    async def read_resource(  # type: ignore[override]
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents]:
        engine = self.engine()
        try:
            target = parse_uri(str(uri))
            principal = await self.authenticate(engine, _request_of(context))
            content, mime_type = await AssetResources(engine, principal).read(target)
        except PicshaError as error:
            raise _protocol_error(error) from error
        return [ReadResourceContents(content=content, mime_type=mime_type)]


def _request_of(context: Context[Any, Any] | None) -> ServerRequestContext[Any, Any] | None:
    if context is None:
        return None
    try:
        return context.request_context
    except ValueError:  # a context made outside a request (direct calls in tests)
        return None


def _protocol_error(error: PicshaError) -> MCPError:
    """Resource reads fail as JSON-RPC errors (the protocol has no error result for them); data keeps the code."""
    code = INVALID_PARAMS if error.status < 500 else INTERNAL_ERROR
    return MCPError(code=code, message=f"{error.code}: {error.message}", data=error.to_dict())


def build_server(
    engine: Engine | EngineSource, *, transport: Transport, authenticate: Authenticate | None = None
) -> PicshaServer:
    """The server for one transport. ``engine`` may be a callable when the engine starts later (HTTP mount)."""
    source: EngineSource = (lambda: engine) if isinstance(engine, Engine) else engine
    default = from_http_request if transport is Transport.HTTP else as_owner
    return PicshaServer(source, transport=transport, authenticate=authenticate or default)
