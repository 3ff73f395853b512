"""What a tool declaration is: plain data plus one engine callable."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from engine.auth.scopes import Scope
from engine.usage import UsageKind
from tools_manifest import schema

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


class Hints(BaseModel):
    """The MCP tool annotations, declared for every tool (no defaults: each tool states all four)."""

    model_config = ConfigDict(frozen=True)

    read_only: bool = Field(description="Changes nothing (readOnlyHint).")
    destructive: bool = Field(description="May delete or overwrite data (destructiveHint).")
    idempotent: bool = Field(description="Calling twice with the same input has no extra effect (idempotentHint).")
    open_world: bool = Field(description="Reaches outside Picsha, e.g. fetches a URL (openWorldHint).")


class Cost(BaseModel):
    """What a call costs, as written to the usage ledger."""

    model_config = ConfigDict(frozen=True)

    billed_as: list[UsageKind] = Field(default_factory=list, description="Ledger kinds a call may record.")
    note: str = Field(description="One line for people and models: what is billed and when.")


@dataclass(frozen=True)
class ImageAttachment:
    """An image for the model to see. Always a capped preview (engine.previews), never original bytes."""

    data: bytes
    mime_type: str


@dataclass(frozen=True)
class LinkAttachment:
    """A pointer to something larger than a model should receive inline (an MCP resource link)."""

    uri: str
    name: str
    mime_type: str | None = None
    description: str | None = None


Attachment = ImageAttachment | LinkAttachment


class ToolOutput(BaseModel):
    """Base of output models that also carry attachments (images, links) beside their JSON.

    Attachments are not part of the JSON (REST answers and MCP ``structuredContent``); the MCP server turns
    them into image and resource-link content blocks.
    """

    _attachments: list[Attachment] = PrivateAttr(default_factory=list)

    def attach(self, *items: Attachment) -> "ToolOutput":
        self._attachments.extend(items)
        return self

    @property
    def attachments(self) -> list[Attachment]:
        return list(self._attachments)


Run = Callable[["Engine", "Principal", In], Awaitable[Out]]


@dataclass(frozen=True)
class ToolSpec(Generic[In, Out]):
    """One tool. ``description`` is written for an LLM: what, when, what it returns, one example call."""

    id: str
    title: str
    description: str
    input: type[In]
    output: type[Out]
    hints: Hints
    cost: Cost
    run: Run[In, Out]
    scope: Scope
    """What a key must be allowed to call it (MCP, REST and pipeline steps alike); ``tools/list`` shows a key
    only the tools its scopes allow."""
    example: dict[str, Any] = field(default_factory=dict)
    action: str | None = None
    """A short name pipelines accept besides the id (the reference documents' names: search, scrape, ...)."""
    listed: bool = True
    """Shown in MCP's default ``tools/list``. An unlisted tool is still callable by name, over REST and in
    pipelines: it is one a listed tool already covers for a model (``get_job`` is ``wait_job`` with 0 s)."""

    def parse(self, arguments: dict[str, Any]) -> In:
        """The input, checked as strict JSON: ``"yes"`` is not ``true`` and ``"5"`` is not ``5``.

        A model's slip is an error naming the expected type, never a guess; a destructive confirmation can
        only be the boolean ``true``. Raises pydantic's ``ValidationError``; each front door shapes it.
        """
        return self.input.model_validate_json(json.dumps(arguments), strict=True)

    def full_description(self) -> str:
        """The description plus the example call, as the model sees it."""
        return f"{self.description}\nExample: {self.id}({json.dumps(self.example, separators=(', ', ': '))})"

    def input_schema(self) -> dict[str, Any]:
        """What MCP's ``inputSchema`` publishes (the pydantic schema, cleaned)."""
        return schema.input_schema(self.input.model_json_schema())

    def output_schema(self) -> dict[str, Any]:
        """What MCP's ``outputSchema`` publishes (shallow; the full schema is ``full_output_schema``)."""
        return schema.output_schema(self.full_output_schema())

    def full_output_schema(self) -> dict[str, Any]:
        return self.output.model_json_schema(mode="serialization")


class Declared(Protocol):
    @property
    def id(self) -> str: ...


D = TypeVar("D", bound=Declared)


def unique_ids(declared: list[D], what: str) -> list[D]:
    """The declarations as given; two with one id are an error (raised at import of the server)."""
    seen: set[str] = set()
    for item in declared:
        if item.id in seen:
            raise ValueError(f"Two {what} are declared with the id {item.id!r}.")
        seen.add(item.id)
    return declared
