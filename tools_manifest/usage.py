"""Account tools: the month's usage and spend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from engine.usage import UsageSummary
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ToolSpec

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal


class NoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def get_usage(engine: Engine, principal: Principal, _given: NoInput) -> UsageSummary:
    return await engine.ledger.summary(principal.account_id)


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="get_usage",
        scope=Scope.ASSETS_READ,
        # Not in the default list: every answer that costs names its cost (an asset's cost, a generation's
        # cost), and the month's total is an operator's question (REST /v1/usage); still callable by name.
        listed=False,
        title="Get usage",
        description="This month's spend for the account, read from the usage ledger: total_spend in USD and "
        "a breakdown (storage_gb, ai_operations, bandwidth_gb).",
        example={},
        input=NoInput,
        output=UsageSummary,
        hints=Hints(read_only=True, destructive=False, idempotent=True, open_world=False),
        cost=Cost(note="free"),
        run=get_usage,
    ),
]
