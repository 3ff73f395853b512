"""Image tools over REST, in the image-tools API's shape.

``POST /v1/tools/{toolId}``: multipart ``file`` (a second file for tools that take two) + ``settings``
(JSON) answers the processed file itself (a ZIP when a tool gives several, JSON for tools that give
JSON); or a JSON body ``{"asset_id" | "asset_ids", "settings", "save"}`` works on stored assets and, with
``save`` (default), stores the result as new assets. ``/batch`` runs many files and streams a ZIP.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine import Engine
from engine.auth import Principal
from engine.errors import InvalidInput
from engine.imaging import Gives, ImageFile, ToolFile
from engine.imaging.chain import Step
from engine.imaging.service import BATCH_JOB, RUN_JOB, BatchItem, Derived
from engine.media.zipstream import ZipStream
from picsha_mcp.rest.body_cap import read_json_object
from picsha_mcp.rest.errors import validation_error
from picsha_mcp.rest.json_text import parse_json
from picsha_mcp.rest.multipart_upload import read_multipart_files
from tools_manifest.image_tools import Category, ImageToolSpec
from tools_manifest.image_tools.steps import settings_of

FILE_FIELDS = frozenset({"file", "files", "file2", "second", "watermark", "overlay", "target", "logo", "mask"})


class AssetToolRequest(BaseModel):
    """A tool on stored assets: the JSON form of ``POST /v1/tools/{toolId}``."""

    model_config = ConfigDict(extra="forbid")

    asset_id: str | None = Field(default=None, pattern=r"^as_[A-Za-z0-9]+$")
    asset_ids: list[str] | None = Field(default=None, min_length=1, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    save: bool = Field(default=True, description="Store the result as new assets (else answer the file).")
    as_version: bool = Field(default=False, description="Save the one result as the one asset's new file version "
                             "(its old file is kept: GET /v1/assets/{id}/versions) instead of a new asset.")

    @model_validator(mode="after")
    def _one_source(self) -> AssetToolRequest:
        if (self.asset_id is None) == (self.asset_ids is None):
            raise ValueError("give asset_id or asset_ids (one of them)")
        return self

    @property
    def ids(self) -> list[str]:
        return [self.asset_id] if self.asset_id else list(self.asset_ids or [])


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


@contextlib.asynccontextmanager
async def uploaded_files(request: Request, engine: Engine, *, max_files: int) -> AsyncIterator[tuple[dict[str, str], list[ToolFile]]]:
    """The form's fields and its files (sniffed), all removed when the request is done."""
    limits = engine.settings.imaging
    form = await read_multipart_files(request, engine.ingest.staging_writer, names=FILE_FIELDS, max_files=max_files,
                                      max_total=limits.max_batch_mb * 1024 * 1024)
    try:
        yield form.fields, [engine.imaging.stage(staged.path, name) for name, staged in form.files]
    finally:
        for _, staged in form.files:
            staged.discard()


def json_field(fields: dict[str, str], name: str, default: Any) -> Any:
    raw = fields.get(name)
    return default if raw is None or not raw.strip() else parse_json(raw.encode(), what=f"The {name} field", code="invalid_json")


async def json_body(request: Request, engine: Engine) -> dict[str, Any]:
    return await read_json_object(request, engine.settings.ingest.max_json_bytes)


def file_response(result: list[ImageFile] | BaseModel) -> Response:
    """One file as itself, several as a ZIP, JSON as JSON."""
    if isinstance(result, BaseModel):
        return JSONResponse(result.model_dump(mode="json"))
    if len(result) == 1:
        only = result[0]
        return Response(only.data, media_type=only.media_type, headers=_disposition(only.filename))
    archive = ZipStream()
    data = b"".join(archive.add(item.filename, item.data) for item in result) + archive.close()
    return Response(data, media_type="application/zip", headers=_disposition("results.zip"))


def _disposition(filename: str) -> dict[str, str]:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in filename) or "result"
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


def is_long(spec: ImageToolSpec) -> bool:
    """AI tools and tools that make many files (pages, frames, tiles) run as a job: ``X-Job-Id`` names it, and
    its progress (each model stage, each page) is ``GET /v1/jobs/{id}/progress``."""
    return spec.category is Category.AI or spec.operation.gives is Gives.FILES


async def run_tool(spec: ImageToolSpec, request: Request, engine: Engine, principal: Principal) -> Response:
    """``POST /v1/tools/{toolId}`` for an image tool (the route itself is the registry's one route)."""
    if is_multipart(request):
        async with uploaded_files(request, engine, max_files=engine.settings.imaging.max_batch_files) as (fields, files):
            step = (spec.operation, settings_of(spec, json_field(fields, "settings", {})))
            if not is_long(spec):
                return file_response(await engine.imaging.run_files(principal, [step], files, label=spec.id))
            async with engine.jobs.track(account_id=principal.account_id, kind=RUN_JOB, payload={"tool": spec.id}) as job:
                result = await engine.imaging.run_files(principal, [step], files, label=spec.id, job=job)
            response = file_response(result)
            response.headers["X-Job-Id"] = job.id
            return response
    try:
        given = AssetToolRequest.model_validate(await json_body(request, engine))
    except ValidationError as error:
        raise validation_error(error) from error
    steps = [(spec.operation, settings_of(spec, given.settings))]
    if given.as_version:
        if len(given.ids) != 1:
            raise InvalidInput("as_version saves onto one asset: give asset_id.", code="tool_input_count")
        asset = await engine.imaging.run_onto(principal, steps, given.ids[0], label=spec.id)
        return JSONResponse(asset.model_dump(mode="json"))
    return await run_on_assets(engine, principal, steps, given.ids, save=given.save, gives=spec.operation.gives,
                               derived=Derived(tool=spec.id, settings=given.settings))


async def run_on_assets(engine: Engine, principal: Principal, steps: Sequence[Step], asset_ids: list[str], *, save: bool,
                        gives: Gives, derived: Derived) -> Response:
    if not save:
        async with engine.imaging.asset_files(principal, asset_ids) as files:
            return file_response(await engine.imaging.run_files(principal, steps, files, label=derived.tool))
    made = await engine.imaging.run_assets(principal, steps, asset_ids, label=derived.tool, derived=derived)
    if isinstance(made, BaseModel):
        return JSONResponse(made.model_dump(mode="json"))
    if gives is Gives.FILE and len(made) == 1:
        return JSONResponse(made[0].model_dump(mode="json"))
    return JSONResponse({"assets": [asset.model_dump(mode="json") for asset in made], "asset_ids": [a.id for a in made]})


async def batch_response(engine: Engine, principal: Principal, steps: Sequence[Step], files: list[ToolFile], *,
                         label: str, cleanup: contextlib.AsyncExitStack) -> StreamingResponse:
    """A ZIP of every file's results, streamed as they finish; failures are listed in ``errors.json``.

    The batch is a job while it runs (``X-Job-Id``; ``GET /v1/jobs/{id}/progress`` streams its progress).
    """
    engine.imaging.check_batch(steps, files, label=label)  # a 4xx here, before there is a job or a 200
    job = await cleanup.enter_async_context(
        engine.jobs.track(account_id=principal.account_id, kind=BATCH_JOB, payload={"tool": label, "files": len(files)}))

    async def progress(fraction: float, message: str) -> None:
        await job.report(progress=fraction * 100, message=message)

    items = engine.imaging.batch(principal, steps, files, label=label, progress=progress)
    first = await anext(items)

    async def body() -> AsyncIterator[bytes]:
        archive: ZipStream = ZipStream()
        failures: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        try:
            item: BatchItem | None = first
            while item is not None:
                if item.error is not None:
                    failures.append({"file": item.filename, **item.error.to_dict()})
                elif item.json is not None:
                    results.append({"file": item.filename, "result": item.json.model_dump(mode="json")})
                for output in item.outputs or []:
                    yield archive.add(output.filename, output.data)
                item = await anext(items, None)
            if results:
                yield archive.add("results.json", json.dumps(results, indent=1).encode())
            if failures:
                yield archive.add("errors.json", json.dumps(failures, indent=1).encode())
            yield archive.close()
        except BaseException as error:
            await items.aclose()
            await cleanup.__aexit__(type(error), error, error.__traceback__)  # the job ends failed
            raise
        await items.aclose()
        await cleanup.aclose()

    headers = _disposition(f"{label.split(' ')[0]}-batch.zip") | {"X-Job-Id": job.id}
    return StreamingResponse(body(), media_type="application/zip", headers=headers)


StepsOf = Callable[[dict[str, str]], Awaitable[tuple[Sequence[Step], str]]]


async def batch_of_form(request: Request, engine: Engine, principal: Principal, steps_of: StepsOf, *,
                        fields_help: str) -> StreamingResponse:
    """A multipart batch: its files staged (and removed once the ZIP is sent), its steps read from its fields."""
    if not is_multipart(request):
        raise InvalidInput(f"A batch is multipart/form-data: files, and {fields_help}.", code="invalid_request")
    stack = contextlib.AsyncExitStack()
    try:
        fields, files = await stack.enter_async_context(
            uploaded_files(request, engine, max_files=engine.settings.imaging.max_batch_files))
        steps, label = await steps_of(fields)
        return await batch_response(engine, principal, steps, files, label=label, cleanup=stack)
    except BaseException:
        await stack.aclose()
        raise


async def run_batch(spec: ImageToolSpec, request: Request, engine: Engine, principal: Principal) -> StreamingResponse:
    async def steps_of(fields: dict[str, str]) -> tuple[Sequence[Step], str]:
        return [(spec.operation, settings_of(spec, json_field(fields, "settings", {})))], spec.id

    return await batch_of_form(request, engine, principal, steps_of, fields_help="settings (JSON)")
