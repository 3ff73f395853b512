"""Analysis skills as a tool: run one again on assets and read back what it found (the pipeline action
``analyze``). Not in the default MCP list: uploads already analyse, and a model that wants more asks
``get_asset``; pipelines use it to chain ``scrape`` into ``analyze`` into ``search``."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.enrich.skills import SKILLS
from engine.usage import UsageKind
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ToolSpec
from tools_manifest.views import brief

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

SkillName = StrEnum("SkillName", {skill.name.upper(): skill.name for skill in SKILLS})  # type: ignore[misc]
TOP_LABELS = 10


class AnalyzeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_ids: list[str] = Field(min_length=1, max_length=20, description="Assets to analyse.")
    skill: SkillName = Field(default=SkillName("caption"), description="The analysis to run again.")  # type: ignore[call-arg]


class AnalyzeOutput(BaseModel):
    summary: str = Field(description="The assets' captions or summaries, joined.")
    top_labels: list[str] = Field(description="Their most common tags, most frequent first.")
    assets: list[dict[str, Any]] = Field(description="Brief rows after the analysis.")
    failed: dict[str, str] = Field(default_factory=dict, description="Asset id -> why its analysis failed.")


async def analyze_assets(engine: Engine, principal: Principal, given: AnalyzeInput) -> AnalyzeOutput:
    runs = []
    async with engine.admission.analyses.enter():  # the same places as REST's skill runs: full is analysis_busy
        for asset_id in given.asset_ids:
            runs.append(await engine.enrich.run_skill(principal, asset_id, given.skill.value))
    failed = {run.asset.id: run.job.error or "failed" for run in runs if not run.succeeded}
    texts = [text for run in runs if (text := run.asset.ai.caption or run.asset.ai.summary)]
    labels = Counter(tag for run in runs for tag in run.asset.ai.tags)
    return AnalyzeOutput(summary=" ".join(texts), top_labels=[tag for tag, _ in labels.most_common(TOP_LABELS)],
                         assets=[brief(run.asset) for run in runs], failed=failed)


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="analyze_assets",
        scope=Scope.ASSETS_WRITE,
        action="analyze",
        listed=False,
        title="Analyse assets",
        description="Run one analysis (caption, clip, ocr, faces, colors, ...) again on assets and answer what it "
        "found: the captions joined as summary, the most common tags as top_labels, and brief rows.",
        example={"asset_ids": ["as_2x9Kq"], "skill": "caption"},
        input=AnalyzeInput,
        output=AnalyzeOutput,
        hints=Hints(read_only=False, destructive=False, idempotent=True, open_world=False),
        cost=Cost(billed_as=[UsageKind.AI_OPERATION], note="one AI operation per asset (a paid caption: its charge)"),
        run=analyze_assets,
    ),
]
