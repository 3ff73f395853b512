"""The FastAPI application: routers over one ``Engine`` held for the app's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from engine import Engine, Settings
from picsha_mcp import __version__
from picsha_mcp.rest import assets, usage
from picsha_mcp.rest.errors import install_error_handlers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Engine.open(settings) as engine:
            app.state.engine = engine
            yield

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
    app.include_router(assets.router)
    app.include_router(usage.router)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
