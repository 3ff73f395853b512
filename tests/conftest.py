"""Shared fixtures: a real engine on real folders and SQLite, the REST app in-process and on uvicorn."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar
from pathlib import Path

import httpx2
import pytest
import uvicorn

from engine import Engine, Settings
from engine.auth import Principal
from picsha_mcp.rest import create_app
from tests.factories import make_settings

T = TypeVar("T")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[Engine]:
    async with in_own_task(Engine.open(settings)) as opened:
        yield opened


@pytest.fixture
async def owner(engine: Engine) -> Principal:
    return Principal(account_id=engine.owner_account_id)


class ApiClient:
    """An in-process client for the REST app plus helpers to make accounts with keys."""

    def __init__(self, client: httpx2.AsyncClient, engine: Engine):
        self.http = client
        self.engine = engine

    async def account(self, name: str = "someone") -> dict[str, str]:
        account_id = await self.engine.keys.create_account(name)
        _info, secret = await self.engine.keys.create_key(account_id, f"{name} key")
        return {"Authorization": f"Bearer {secret}"}


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[ApiClient]:
    """The REST app with its lifespan running, behind an in-process httpx2 client."""
    app = create_app(settings)
    async with in_own_task(app.router.lifespan_context(app)):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield ApiClient(client, app.state.engine)


@asynccontextmanager
async def in_own_task(context: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """Enter and exit ``context`` in one task of its own.

    pytest-asyncio may set a fixture up and tear it down in different tasks; a context holding an anyio
    task group (the MCP session manager, the job runner) must be left in the task that entered it.
    """
    entered: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    leave = asyncio.Event()

    async def hold() -> None:
        try:
            async with context as value:
                entered.set_result(value)
                await leave.wait()
        except BaseException as error:
            if not entered.done():
                entered.set_exception(error)
            raise

    task = asyncio.create_task(hold())
    try:
        yield await entered
    finally:
        leave.set()
        await task


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[ApiClient]:
    async with app_client(settings) as client:
        yield client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings):
        self.port = free_port()
        self.settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{self.port}"})
        self.url = self.settings.public_url
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    from tests.postgres import fresh_database

    async for url in fresh_database():
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose catalog is SQLite or PostgreSQL, for tests of what processes share through it."""
    if request.param == "sqlite":
        return make_settings(tmp_path)
    from engine.settings import CatalogSettings

    return make_settings(tmp_path, catalog=CatalogSettings(url=request.getfixturevalue("postgres_url")))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 for the whole session."""
    import os

    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
