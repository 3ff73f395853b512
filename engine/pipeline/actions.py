"""Action pipelines: named steps run in order, each step's params may reference earlier steps' JSON output.

The engine knows actions only by this small contract (name, input and output models, one call); the
registry supplies them, so every registry tool is an action without the engine knowing the registry.
Everything a reference can get wrong is found before the first step runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import InvalidInput, PicshaError, invalid_fields
from engine.pipeline.references import (
    STEP_NAME, SchemaPathError, SchemaView, compatible, describe, references_in, substitute,
)

log = logging.getLogger("picsha.pipeline")

MAX_STEPS = 20

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    """One thing a step can do: a registry tool, bound to the caller."""

    name: str
    input: type[BaseModel]
    output: type[BaseModel]
    call: Callable[[dict[str, Any]], Awaitable[BaseModel]]


class PipelineStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=f"^{STEP_NAME}$", description="Unique step name.")
    action: str = Field(min_length=1, max_length=64, description="A tool id or short name.")
    params: dict[str, Any] = Field(default_factory=dict, description="The tool's input; values may be references.")


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[PipelineStep] = Field(min_length=1, max_length=MAX_STEPS, description=f"1-{MAX_STEPS} steps, run in order.")
    stop_on_error: bool = Field(default=True, description="Skip the remaining steps after a failure.")


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepError(BaseModel):
    code: str
    message: str


class StepResult(BaseModel):
    name: str
    action: str
    status: StepStatus
    elapsed: float = Field(description="Seconds.")
    output: dict[str, Any] | None = None
    error: StepError | None = None


class PipelineRun(BaseModel):
    steps_total: int
    steps_ok: int
    steps_failed: int
    steps_skipped: int
    elapsed: float = Field(description="Seconds for the whole run.")
    steps: list[StepResult]
    result: dict[str, Any] | None = Field(description="The output of the last step that succeeded.")


def _invalid(step: PipelineStep, message: str, code: str, **details: Any) -> InvalidInput:
    return InvalidInput(f"Step {step.name!r}: {message}", code=code, step=step.name, **details)


def check(pipeline: Pipeline, actions: Mapping[str, Action]) -> None:
    """Raise ``InvalidInput`` naming the step, reference and valid choices for the first thing that is wrong."""
    earlier: dict[str, Action] = {}
    names = [step.name for step in pipeline.steps]
    for step in pipeline.steps:
        if step.name in earlier:
            raise _invalid(step, "two steps have this name; each needs its own.", "pipeline_step_invalid")
        action = actions.get(step.action)
        if action is None:
            raise _invalid(step, f"no action {step.action!r}. Actions: {', '.join(sorted(actions))}.",
                           "pipeline_action_unknown", valid=sorted(actions))
        params = SchemaView(action.input.model_json_schema())
        known = params.root.get("properties", {})
        unknown = sorted(set(step.params) - set(known))
        if unknown and params.root.get("additionalProperties") is False:
            raise _invalid(step, f"{action.name} takes no param {unknown[0]!r}; its params: {', '.join(known)}.",
                           "pipeline_params_invalid", valid=list(known))
        for location, reference in references_in(step.params):
            _check_reference(step, reference, location, earlier, names, params)
        earlier[step.name] = action


def _check_reference(step: PipelineStep, reference: Any, location: tuple[str | int, ...],
                     earlier: Mapping[str, Action], names: list[str], params: SchemaView) -> None:
    code = "pipeline_reference_invalid"
    source = earlier.get(reference.step)
    if source is None:
        later = reference.step in names
        why = "a later step (or this one): steps run in order" if later else "no step of that name"
        valid = ", ".join(earlier) or "none (this is the first step)"
        raise _invalid(step, f"{reference.text} refers to {why}. Earlier steps: {valid}.", code,
                       reference=reference.text, valid=list(earlier))
    output = SchemaView(source.output.model_json_schema(mode="serialization"))
    try:
        given = output.at(reference.path)
    except SchemaPathError as error:
        raise _invalid(step, f"{reference.text}: {error}", code, reference=reference.text) from error
    try:
        wanted = params.at(location)
    except SchemaPathError as error:
        raise _invalid(step, f"param {'.'.join(map(str, location))}: {error}", "pipeline_params_invalid") from error
    given_types, wanted_types = output.types(given), params.types(wanted)
    if not compatible(given_types, wanted_types):
        raise _invalid(
            step, f"{reference.text} is {describe(given_types)}, but param {'.'.join(map(str, location))} "
            f"takes {describe(wanted_types)}.", code, reference=reference.text)


async def run(pipeline: Pipeline, actions: Mapping[str, Action], *, progress: Progress | None = None) -> PipelineRun:
    """Check, then run the steps in order. A failing step is reported, never raised."""
    check(pipeline, actions)
    started = time.perf_counter()
    outputs: dict[str, dict[str, Any]] = {}
    results: list[StepResult] = []
    stopped = False
    total = len(pipeline.steps)
    for number, step in enumerate(pipeline.steps, start=1):
        result = _skipped(step, "An earlier step failed and stop_on_error is true.") if stopped else None
        waiting_on = next((ref.step for _, ref in references_in(step.params) if ref.step not in outputs), None)
        if result is None and waiting_on is not None:
            result = _skipped(step, f"It uses the output of step {waiting_on!r}, which did not succeed.")
        if result is None:
            result = await _run_step(step, actions[step.action], outputs)
        results.append(result)
        if result.status is StepStatus.OK and result.output is not None:
            outputs[step.name] = result.output
        stopped = stopped or (result.status is StepStatus.FAILED and pipeline.stop_on_error)
        if progress is not None:
            await progress(number, total, f"{step.name}: {result.status.value}")
    done = [r for r in results if r.status is StepStatus.OK]
    return PipelineRun(
        steps_total=total,
        steps_ok=len(done),
        steps_failed=sum(r.status is StepStatus.FAILED for r in results),
        steps_skipped=sum(r.status is StepStatus.SKIPPED for r in results),
        elapsed=round(time.perf_counter() - started, 3),
        steps=results,
        result=done[-1].output if done else None,
    )


def _skipped(step: PipelineStep, why: str) -> StepResult:
    return StepResult(name=step.name, action=step.action, status=StepStatus.SKIPPED, elapsed=0.0,
                      error=StepError(code="pipeline_step_skipped", message=why))


async def _run_step(step: PipelineStep, action: Action, outputs: dict[str, dict[str, Any]]) -> StepResult:
    started = time.perf_counter()
    try:
        params = substitute(step.params, outputs)
        output = (await action.call(params)).model_dump(mode="json")
        error = None
    except LookupError as failure:  # a list shorter than a reference's index, in this run's data
        error = StepError(code="pipeline_reference_missing", message=str(failure))
    except ValidationError as failure:
        invalid = invalid_fields(failure.errors())
        error = StepError(code=invalid.code, message=invalid.message)
    except PicshaError as failure:
        error = StepError(code=failure.code, message=failure.message)
    except Exception:  # one broken step must not lose the others' results
        log.exception("pipeline step %s (%s) failed", step.name, step.action)
        error = StepError(code="internal_error", message="An unexpected error occurred; it has been logged.")
    elapsed = round(time.perf_counter() - started, 3)
    if error is not None:
        return StepResult(name=step.name, action=step.action, status=StepStatus.FAILED, elapsed=elapsed, error=error)
    return StepResult(name=step.name, action=step.action, status=StepStatus.OK, elapsed=elapsed, output=output)
