"""The circumstances of one tool call (transport, progress), visible to tool code without widening ``run``.

Tool callables keep the one signature ``run(engine, principal, input)``; the few that care (a local ``path``
is allowed only on stdio; long work reports progress) read ``current_call()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Transport(StrEnum):
    STDIO = "stdio"  # MCP over stdio: the server runs on the user's machine
    HTTP = "http"  # MCP over streamable HTTP
    REST = "rest"  # POST /v1/tools/{id}


Progress = Callable[[float, float | None, str | None], Awaitable[None]]
ClientRoots = Callable[[], Awaitable[list[Path] | None]]
"""The folders the MCP client shares with the server (its ``roots``), or ``None`` when it declares none."""


async def _no_progress(_done: float, _total: float | None, _message: str | None) -> None:
    return None


async def _no_roots() -> list[Path] | None:
    return None


@dataclass(frozen=True)
class ToolCall:
    transport: Transport
    progress: Progress = _no_progress
    client_roots: ClientRoots = _no_roots

    @property
    def is_local(self) -> bool:
        """The caller shares this machine's file system."""
        return self.transport is Transport.STDIO


_current: ContextVar[ToolCall] = ContextVar("picsha_tool_call", default=ToolCall(Transport.REST))


def current_call() -> ToolCall:
    return _current.get()


@contextmanager
def calling(call: ToolCall) -> Iterator[ToolCall]:
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)
