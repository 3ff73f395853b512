"""The MCP server: every tool of the registry, plus Picsha's resources (asset JSON, previews, renders).

One ``PicshaServer`` serves one transport. Tools and resources are served by overriding ``MCPServer``'s
listing and calling methods, so the schemas published are exactly the registry's pydantic models (no
signature is reverse-engineered from a Python function) and errors keep the engine's code and message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ResourceUpdated
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    ContentBlock,
    EmptyResult,
    ImageContent,
    ListResourcesResult,
    ListToolsResult,
    PaginatedRequestParams,
    Resource,
    ResourceLink,
    ResourceTemplate,
    SubscribeRequestParams,
    TextContent,
    Tool,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import AnyUrl, BaseModel, ValidationError

from engine import Engine
from engine.assets.links import AssetLinks
from engine.auth import Principal
from engine.auth.scopes import require
from engine.errors import NotFound, PicshaError, Unauthorized
from engine.events import Event
from engine.usage import attribute_to
from picsha_mcp import __version__
from picsha_mcp.resources import RESOURCE_TEMPLATES, AssetResources, asset_uri, parse_uri
from picsha_mcp.rest.errors import validation_error
from tools_manifest.gate import admit_tool
from tools_manifest.calls import ToolCall, Transport, calling
from tools_manifest.imaging import toolset
from tools_manifest.registry import all_tools
from tools_manifest.spec import ImageAttachment, LinkAttachment, ToolSpec

log = logging.getLogger("picsha.mcp")

EngineSource = Callable[[], Engine]
MAX_SUBSCRIBERS = 256  # sessions told about one asset (resources/subscribe): bounded memory per asset
Authenticate = Callable[[Engine, ServerRequestContext[Any, Any] | None], Awaitable[Principal]]

INSTRUCTIONS = (
    "Picsha stores, understands and renders media. Upload with upload_asset (url, base64 or, locally, path), "
    "then use the returned id (as_...) with get_asset, render_asset, update_asset or delete_asset. "
    "Images you receive are previews sized for you; share the signed URLs with people. A result with "
    "links: this_machine or this_session has URLs only this machine opens (this_session: until this session "
    "ends); the bytes are also resources: picsha://assets/{id}/original."
)


async def as_owner(engine: Engine, _request: ServerRequestContext[Any, Any] | None) -> Principal:
    """Local transports (stdio, in-memory): the caller is the machine's owner account."""
    return Principal(account_id=engine.owner_account_id, user_id=engine.accounts.owner_user_id)


async def from_http_request(engine: Engine, request: ServerRequestContext[Any, Any] | None) -> Principal:
    """Streamable HTTP: the key was checked at the door (``picsha_mcp.rest.mcp_mount``), per HTTP request."""
    http = request.request if request is not None else None
    principal = getattr(getattr(http, "state", None), "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthorized("Send 'Authorization: Bearer <key>'.", code="unauthorized")
    return principal


# What MCP assumes for a hint left out. destructiveHint and idempotentHint mean something only when a tool is
# not read-only, so a read-only tool leaves them out too.
HINT_DEFAULTS = {"read_only_hint": False, "destructive_hint": True, "idempotent_hint": False, "open_world_hint": True}


def tool_annotations(spec: ToolSpec[Any, Any]) -> ToolAnnotations:
    """Every hint the tool declares, sent only where it differs from what MCP assumes without it (the list
    is read on every turn); no title here, the tool's own title says it."""
    hints = spec.hints
    values = {"read_only_hint": hints.read_only, "destructive_hint": hints.destructive,
              "idempotent_hint": hints.idempotent, "open_world_hint": hints.open_world}
    if hints.read_only:
        values.pop("destructive_hint")
        values.pop("idempotent_hint")
    return ToolAnnotations(**{name: value for name, value in values.items() if value != HINT_DEFAULTS[name]})


def mcp_tool(spec: ToolSpec[Any, Any], *, schema_shown_by: str | None = None) -> Tool:
    """The listed tool. An output model already published by another tool (every asset tool answers an
    asset) is named, not repeated: the list is read on every turn."""
    description = spec.full_description()
    if schema_shown_by is not None:
        description += f"\nOutput: as {schema_shown_by}."
    return Tool(
        name=spec.id, title=spec.title, description=description, input_schema=spec.input_schema(),
        output_schema=None if schema_shown_by else spec.output_schema(), annotations=tool_annotations(spec),
    )


def listed_tools(specs: list[ToolSpec[Any, Any]]) -> list[Tool]:
    publisher: dict[type, str] = {}  # output model -> the tool that publishes its schema (get_asset for Asset)
    for spec in sorted(specs, key=lambda spec: spec.id != "get_asset"):
        publisher.setdefault(spec.output, spec.id)
    return [
        mcp_tool(spec, schema_shown_by=None if publisher[spec.output] == spec.id else publisher[spec.output])
        for spec in specs
    ]


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


def success_result(output: BaseModel, links: AssetLinks | None = None) -> CallToolResult:
    data = output.model_dump(mode="json")
    text = json.dumps(data, separators=(",", ":"))
    if links is not None and (reach := links.note_for(text)) is not None:
        data["links"] = reach.value  # loopback URLs: say who can open them ("this_machine", "this_session")
        text = json.dumps(data, separators=(",", ":"))
    content = TextContent(type="text", text=text)
    return CallToolResult(content=[content, *_attachment_blocks(output)], structured_content=data)


class PicshaServer(MCPServer[Any]):
    def __init__(self, engine: EngineSource, *, transport: Transport, authenticate: Authenticate = as_owner,
                 image_tools: Sequence[str] = ()):
        super().__init__(
            name="picsha", title="Picsha", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
        )
        self.engine = engine
        self.transport = transport
        self.authenticate = authenticate
        self.tools = {spec.id: spec for spec in [*all_tools(), *toolset(list(image_tools))]}
        self.listed = listed_tools([spec for spec in self.tools.values() if spec.listed])  # schemas are made once, not per list
        self._listed_for: dict[frozenset[str], list[Tool]] = {}  # by a caller's scopes (few distinct sets)
        # resources/subscribe (protocol versions up to 2025): the sessions told when an asset changes. From
        # 2026-07-28 clients open subscriptions/listen instead, served by MCPServer from self._subscriptions.
        # The session object of the subscribe request is kept: it sends on the connection's own channel after
        # the request ended. One that fails to send (its client left) is dropped.
        self.subscribed: dict[str, set[ServerSession]] = {}
        self.hearing: Engine | None = None
        self._lowlevel_server.add_request_handler("resources/subscribe", SubscribeRequestParams, self._subscribe)
        self._lowlevel_server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._unsubscribe)

    # -- resource subscriptions --------------------------------------------------------------------

    def _hear(self, engine: Engine) -> Engine:
        """Listen to the engine's asset events once, so subscribers hear of changes made in this process."""
        if self.hearing is not engine:
            self.hearing = engine
            engine.events.listen(self._asset_events)
        return engine

    async def _subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        engine = self._hear(self.engine())
        try:
            target = parse_uri(str(params.uri))
            await engine.assets.get(await self.authenticate(engine, ctx), target.asset_id)  # only one's own assets
        except PicshaError as error:
            raise _protocol_error(error) from error
        sessions = self.subscribed.setdefault(asset_uri(target.asset_id), set())
        if len(sessions) < MAX_SUBSCRIBERS:
            sessions.add(ctx.session)
        return EmptyResult()

    async def _unsubscribe(self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        with contextlib.suppress(PicshaError):
            self.subscribed.pop(asset_uri(parse_uri(str(params.uri)).asset_id), None)
        return EmptyResult()

    async def _asset_events(self, events: list[Event]) -> None:
        for uri in dict.fromkeys(asset_uri(str(e.data["asset_id"])) for e in events if e.data.get("asset_id")):
            await self._subscriptions.publish(ResourceUpdated(uri=uri))
            for session in list(self.subscribed.get(uri, ())):
                try:
                    await session.send_resource_updated(uri)
                except Exception:  # a session that has gone: it stops hearing
                    log.debug("could not tell a session that %s changed", uri, exc_info=True)
                    self.subscribed[uri].discard(session)

    # -- tools -------------------------------------------------------------------------------------

    async def list_tools(self) -> list[Tool]:
        return list(self.listed)

    async def _handle_list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        """The listed tools the caller's scopes allow (all of them for a caller without scopes)."""
        try:
            principal = await self.authenticate(self.engine(), ctx)
        except PicshaError as error:
            raise _protocol_error(error) from error
        if principal.scopes is None:
            return ListToolsResult(tools=list(self.listed))
        allowed = self._listed_for.get(principal.scopes)
        if allowed is None:
            allowed = [tool for tool in self.listed if self.tools[tool.name].scope.value in principal.scopes]
            self._listed_for[principal.scopes] = allowed
        return ListToolsResult(tools=list(allowed))

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
            given = spec.parse(arguments)
        except ValidationError as error:
            raise validation_error(error) from error
        engine = self._hear(self.engine())
        request = _request_of(context)
        principal = await self.authenticate(engine, request)
        require(principal, spec.scope)
        attribute_to(principal.key_id)

        async def progress(done: float, total: float | None, message: str | None) -> None:
            if context is not None and request is not None:
                await context.report_progress(done, total, message)

        async def client_roots() -> list[Path] | None:
            return await _client_roots(request)

        await admit_tool(engine, principal, spec)
        with calling(ToolCall(self.transport, progress=progress, client_roots=client_roots)):
            output = await spec.run(engine, principal, given)
        return success_result(output, engine.links)

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


async def _client_roots(request: ServerRequestContext[Any, Any] | None) -> list[Path] | None:
    """The folders the client shares (``roots/list``), when it declared roots; ``None`` otherwise.

    Roots exist up to the 2025 protocol versions; a client on a later one (or without roots) gets the
    configured folders instead (``engine.ingest.local_paths``).
    """
    session = request.session if request is not None else None
    capabilities = session.client_capabilities if session is not None else None
    if session is None or capabilities is None or capabilities.roots is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # roots end with 2026-07-28
            listed = await session.list_roots()
    except Exception:  # a client that declared roots but cannot answer: as if it had none
        log.warning("roots/list failed; using the configured folders", exc_info=True)
        return None
    roots = []
    for root in listed.roots:
        parts = urlsplit(str(root.uri))
        if parts.scheme == "file":
            roots.append(Path(url2pathname(unquote(parts.path))))
    return roots


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
    engine: Engine | EngineSource, *, transport: Transport, authenticate: Authenticate | None = None,
    image_tools: Sequence[str] = (),
) -> PicshaServer:
    """The server for one transport. ``engine`` may be a callable when the engine starts later (HTTP mount).
    ``image_tools``: ids listed one by one as agent tools too (``PICSHA_MCP__TOOLSETS``)."""
    source: EngineSource = (lambda: engine) if isinstance(engine, Engine) else engine
    default = from_http_request if transport is Transport.HTTP else as_owner
    return PicshaServer(source, transport=transport, authenticate=authenticate or default, image_tools=image_tools)
