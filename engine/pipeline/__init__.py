"""Pipelines: steps run in order, each able to use earlier steps' output through ``$step.field`` references."""

from engine.pipeline.actions import (
    MAX_STEPS, Action, Pipeline, PipelineRun, PipelineStep, StepResult, StepStatus, check, run,
)

__all__ = ["MAX_STEPS", "Action", "Pipeline", "PipelineRun", "PipelineStep", "StepResult", "StepStatus", "check", "run"]
