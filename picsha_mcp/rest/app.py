"""The FastAPI application: routers over one ``Engine`` held for the app's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from engine import Engine, Settings
from engine.admission import LongLivedHeap, RequestPriority
from picsha_mcp import __version__
from picsha_mcp.rest import access, account_settings, api_keys, assets, auth, documents, generate, usage
from picsha_mcp.rest import jobs as jobs_routes
from picsha_mcp.rest import library as library_routes
from picsha_mcp.rest import pipelines as pipeline_routes
from picsha_mcp.rest import render as render_routes
from picsha_mcp.rest import render_links
from picsha_mcp.rest import scrape as scrape_routes
from picsha_mcp.rest import shares as share_routes
from picsha_mcp.rest import search as search_routes
from picsha_mcp.rest import tools as tool_routes
from picsha_mcp.rest import web as web_page
from picsha_mcp.rest import webhooks as webhook_routes
from picsha_mcp.rest.content_headers import NoSniff, ServerTiming
from picsha_mcp.rest.errors import install_error_handlers
from picsha_mcp.rest.mcp_mount import mcp_http
from picsha_mcp.rest.rate_limits import RateLimitHeaders
from picsha_mcp.rest.tus import router as tus_router
from picsha_mcp.rest.access import Access, needs


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    mcp_server, mcp_route = mcp_http(settings, lambda: app.state.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Engine.open(settings) as engine:
            app.state.engine = engine
            build_route_tables(app.router)
            priority = RequestPriority(settings.admission.compute_nice)
            priority.start()
            heap = LongLivedHeap(refreeze_after_ms=settings.admission.refreeze_after_ms)
            if settings.admission.freeze_heap:
                heap.start()
            try:
                async with mcp_server.session_manager.run():  # mounted apps' lifespans do not run
                    yield
            finally:
                heap.stop()
                await priority.stop()

    app = FastAPI(
        title="Picsha",
        version=__version__,
        summary="S3 with a brain: store, understand, render and find media for AI agents.",
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    access.document(app)
    app.add_middleware(NoSniff)
    if settings.limits.any_rate():  # no limit configured: no headers to add, no middleware to pass
        app.add_middleware(RateLimitHeaders)
    if settings.server_timing:
        app.add_middleware(ServerTiming)  # added last: outermost, so it times the other middleware too
    app.include_router(jobs_routes.router)  # before assets: /v1/assets/skills is not an asset id
    app.include_router(library_routes.assets)  # before assets: /v1/assets/trash is not an asset id
    app.include_router(assets.router)
    app.include_router(library_routes.folders)
    app.include_router(library_routes.collections)
    app.include_router(share_routes.router)
    app.include_router(share_routes.public)
    app.include_router(render_routes.router)
    app.include_router(render_links.router)
    app.include_router(documents.router)
    app.include_router(search_routes.router)
    app.include_router(usage.router)
    app.include_router(account_settings.router)
    app.include_router(webhook_routes.router)
    app.include_router(pipeline_routes.router)
    app.include_router(generate.router)
    app.include_router(scrape_routes.router)
    app.include_router(tool_routes.router)
    app.include_router(auth.router)
    app.include_router(api_keys.router)
    app.router.routes.append(mcp_route)
    app.include_router(tus_router)
    app.router.routes.extend(web_page.routes(settings.public_url))  # the media library page at /

    @app.get("/healthz", include_in_schema=False)
    @needs(Access.PUBLIC)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def build_route_tables(router: Any) -> int:
    """Build the route tables FastAPI otherwise builds on the first request through each included router
    (signatures, dependants, response fields: ~0.2 s for all of Picsha's), so that no request waits for
    them. Returns how many routes it reached; on a FastAPI that builds them eagerly it finds none to build."""
    reached = 0
    for route in getattr(router, "routes", ()):
        reached += _build_included(route) if hasattr(route, "effective_candidates") else 0
    return reached


def _build_included(included: Any) -> int:
    reached = 0
    for candidate in included.effective_candidates():
        reached += _build_included(candidate) if hasattr(candidate, "effective_candidates") else 1
    included.effective_low_priority_routes()
    return reached
