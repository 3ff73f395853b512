"""Action pipelines on the engine's own contract: references checked before a run, resolved during it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from engine.errors import InvalidInput, NotFound
from engine.pipeline import Action, Pipeline, StepStatus, check, run
from engine.pipeline.references import Reference


class FindInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str
    limit: int = Field(default=3, ge=1, le=10)


class Hit(BaseModel):
    id: str
    score: float


class FindOutput(BaseModel):
    results: list[Hit]
    total: int
    query: str
    extra: dict[str, Any] = Field(default_factory=dict)


class FetchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    sizes: list[int] = Field(default_factory=list)


class FetchOutput(BaseModel):
    id: str
    width: int | None = None


CATALOGUE = {"a1": 640, "a2": 1024}


def actions(calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Action]:
    async def find(params: dict[str, Any]) -> BaseModel:
        calls.append(("find", params))
        given = FindInput.model_validate(params, strict=True)
        hits = [Hit(id=key, score=1.0) for key in sorted(CATALOGUE) if given.query in ("all", key)][: given.limit]
        return FindOutput(results=hits, total=len(hits), query=given.query)

    async def fetch(params: dict[str, Any]) -> BaseModel:
        calls.append(("fetch", params))
        given = FetchInput.model_validate(params, strict=True)
        if given.id not in CATALOGUE:
            raise NotFound(f"No asset {given.id!r}.", code="asset_not_found")
        return FetchOutput(id=given.id, width=CATALOGUE[given.id])

    return {"find": Action("find", FindInput, FindOutput, find), "fetch": Action("fetch", FetchInput, FetchOutput, fetch)}


def pipeline(*steps: dict[str, Any], stop_on_error: bool = True) -> Pipeline:
    return Pipeline.model_validate({"steps": list(steps), "stop_on_error": stop_on_error})


def test_references_parse_whole_values_only() -> None:
    assert Reference.parse("$find.results.0.id") == Reference("find", ("results", 0, "id"), "$find.results.0.id")
    assert Reference.parse("$5") is None and Reference.parse("costs $3.50") is None
    assert Reference.parse("$find") is None and Reference.parse(42) is None


async def test_outputs_flow_into_later_steps() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    done = await run(pipeline(
        {"name": "find", "action": "find", "params": {"query": "all"}},
        {"name": "second", "action": "fetch", "params": {"id": "$find.results.1.id", "sizes": ["$find.total"]}},
    ), actions(calls))
    assert [step.status for step in done.steps] == [StepStatus.OK, StepStatus.OK]
    assert calls[1] == ("fetch", {"id": "a2", "sizes": [2]})
    assert done.result == {"id": "a2", "width": 1024}
    assert (done.steps_total, done.steps_ok, done.steps_failed) == (2, 2, 0)


@pytest.mark.parametrize(("reference", "expected"), [
    ("$nothing.id", "no step of that name. Earlier steps: find"),
    ("$later.id", "a later step"),
    ("$find.reslts.0.id", "has no field 'reslts'; its fields: extra, query, results, total"),
    ("$find.results.0.idd", "results.0 has no field 'idd'; its fields: id, score"),
    ("$find.total.0", "total is not a list"),
    ("$find.results.0.score", "is number, but param id takes string"),
    ("$find.results", "is array, but param id takes string"),
])
async def test_bad_references_are_refused_before_anything_runs(reference: str, expected: str) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    bad = pipeline(
        {"name": "find", "action": "find", "params": {"query": "all"}},
        {"name": "use", "action": "fetch", "params": {"id": reference}},
        {"name": "later", "action": "fetch", "params": {"id": "a1"}},
    )
    with pytest.raises(InvalidInput) as refused:
        await run(bad, actions(calls))
    assert refused.value.code == "pipeline_reference_invalid" and refused.value.details["step"] == "use"
    assert refused.value.details["reference"] == reference and expected in refused.value.message
    assert calls == []


def test_free_form_outputs_and_unknown_actions_and_params() -> None:
    known = actions([])
    check(pipeline({"name": "f", "action": "find", "params": {"query": "x"}},
                   {"name": "g", "action": "fetch", "params": {"id": "$f.extra.anything.0"}}), known)
    with pytest.raises(InvalidInput) as unknown:
        check(pipeline({"name": "f", "action": "crop", "params": {}}), known)
    assert unknown.value.code == "pipeline_action_unknown" and "fetch, find" in unknown.value.message
    with pytest.raises(InvalidInput) as param:
        check(pipeline({"name": "f", "action": "find", "params": {"qury": "x"}}), known)
    assert param.value.code == "pipeline_params_invalid" and "query, limit" in param.value.message
    with pytest.raises(InvalidInput) as twice:
        check(pipeline({"name": "f", "action": "find", "params": {"query": "x"}},
                       {"name": "f", "action": "find", "params": {"query": "y"}}), known)
    assert twice.value.code == "pipeline_step_invalid"


async def test_a_failing_step_stops_the_rest_or_not() -> None:
    steps = (
        {"name": "missing", "action": "fetch", "params": {"id": "a9"}},
        {"name": "after", "action": "fetch", "params": {"id": "$missing.id"}},
        {"name": "alone", "action": "fetch", "params": {"id": "a1"}},
    )
    stopped = await run(pipeline(*steps), actions([]))
    assert [s.status for s in stopped.steps] == [StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.SKIPPED]
    assert stopped.steps[0].error is not None and stopped.steps[0].error.code == "asset_not_found"
    assert stopped.result is None
    going_on = await run(pipeline(*steps, stop_on_error=False), actions([]))
    assert [s.status for s in going_on.steps] == [StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.OK]
    assert going_on.steps[1].error is not None and "'missing'" in going_on.steps[1].error.message
    assert going_on.result == {"id": "a1", "width": 640} and going_on.steps_skipped == 1


async def test_run_time_misses_and_invalid_params_fail_their_step() -> None:
    done = await run(pipeline(
        {"name": "find", "action": "find", "params": {"query": "a1"}},
        {"name": "third", "action": "fetch", "params": {"id": "$find.results.2.id"}},
        {"name": "big", "action": "find", "params": {"query": "all", "limit": 99}},
    ), actions([]), )
    third = done.steps[1]
    assert third.status is StepStatus.FAILED and third.error is not None
    assert third.error.code == "pipeline_reference_missing" and "1 item(s)" in third.error.message
    assert done.steps[2].status is StepStatus.SKIPPED
    limited = await run(pipeline({"name": "big", "action": "find", "params": {"query": "all", "limit": 99}}), actions([]))
    assert limited.steps[0].error is not None and "limit" in limited.steps[0].error.message
