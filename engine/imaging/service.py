"""``ImagingService``: image tools and file pipelines on uploaded files or stored assets, billed, bounded.

Runs share the render pool (a tool run is a render by another name): a full pool answers 503 at once.
Batches run their files in parallel on that pool and hand results over as they finish, so a ZIP can be
streamed in bounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from engine.assets.models import Asset, IngestOptions, OnDuplicate
from engine.assets.service import AssetService
from engine.auth import Principal
from engine.errors import InvalidInput, PicshaError
from engine.imaging.chain import Step, check_inputs, run, sniffed
from engine.imaging.items import ImageFile, Takes, ToolFile
from engine.imaging.models import missing_model, require_models
from engine.imaging.operation import Operation, Workbench
from engine.imaging.settings import ImagingSettings
from engine.ingest import IngestService
from engine.jobs import JobContext, JobKind, tracked_kind
from engine.render.pool import RenderPool
from engine.render.settings import RenderSettings
from engine.storage import BlobStore
from engine.usage import UsageKind, UsageLedger

Progress = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class BatchItem:
    """One file of a batch: its outputs, or the error that stopped it (the batch goes on)."""

    index: int
    filename: str
    outputs: list[ImageFile] | None = None
    json: BaseModel | None = None
    error: PicshaError | None = None


@dataclass(frozen=True)
class Derived:
    """Where a tool's saved result came from (kept in the new asset's metadata as ``derived_from``)."""

    tool: str
    settings: dict[str, Any]


PROGRESS_EVERY_S = 0.5  # a batch's progress is written at most this often (each write is a catalog update)
BATCH_JOB = "tool.batch"
RUN_JOB = "tool.run"


class ImagingService:
    def __init__(self, *, settings: ImagingSettings, render: RenderSettings, pool: RenderPool, store: BlobStore,
                 assets: AssetService, ingest: IngestService, ledger: UsageLedger, work_dir: Path):
        self.settings = settings
        self.render_settings = render
        self.pool = pool
        self.store = store
        self.assets = assets
        self.ingest = ingest
        self.ledger = ledger
        self.work_dir = work_dir
        # Saves a result onto an asset as its new file version (engine.library.versions; set by the engine).
        self.new_version: Callable[[Principal, str, bytes, str], Awaitable[Asset]] | None = None

    def job_kinds(self) -> list[JobKind]:
        return [tracked_kind(BATCH_JOB), tracked_kind(RUN_JOB)]

    def enabled_by(self, operation: Operation[Any]) -> str | None:
        """The setting an operation's model needs when it is not set (the tool is listed as unavailable)."""
        return missing_model(operation, self.settings.model_paths())

    def workbench(self) -> Workbench:
        settings = self.settings
        return Workbench(render=self.render_settings, models=settings.model_paths(), model_threads=settings.model_threads,
                         tile_px=settings.upscale_tile_px)

    @contextlib.asynccontextmanager
    async def scratch(self) -> AsyncIterator[Path]:
        """A private folder for one run's files, removed afterwards whatever happens."""
        folder = self.work_dir / f"tool-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        try:
            yield folder
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)

    def stage(self, path: Path, filename: str) -> ToolFile:
        return sniffed(path, filename)

    # -- files in, files out ----------------------------------------------------------------------

    async def run_files(self, principal: Principal, steps: Sequence[Step], files: Sequence[ToolFile], *, label: str,
                        wait: bool = False, job: JobContext | None = None) -> list[ImageFile] | BaseModel:
        """Run the steps on uploaded files (sniffed); the answer is the written files or the JSON. With ``job``,
        the operations' progress is the job's (and a cancelled job stops them)."""
        if not steps:
            raise InvalidInput("A pipeline needs at least one step.", code="pipeline_step_invalid")
        check_inputs(steps[0][0], files, label, max_files=self.settings.max_batch_files)
        async with self.scratch() as folder:
            bench = self.workbench()
            if job is not None:
                bench = replace(bench, progress=lambda fraction, message: anyio.from_thread.run(
                    lambda: job.report(progress=fraction * 100, message=message)))
            result = await self.pool.run(lambda: run(steps, files, bench, folder), wait=wait)
        await self._bill(principal, steps, _made(result), label)
        return result

    def check_batch(self, steps: Sequence[Step], files: Sequence[ToolFile], *, label: str) -> None:
        """A batch's inputs, refused before anything runs (each file must suit the first step alone)."""
        first = steps[0][0]
        if first.takes is not Takes.ONE:
            raise InvalidInput(f"{label} combines several files in one run, so it has no batch form; "
                               "send the files to it directly.", code="tool_batch_unsupported")
        if not 1 <= len(files) <= self.settings.max_batch_files:
            raise InvalidInput(f"A batch takes 1 to {self.settings.max_batch_files} files; it was given {len(files)}.",
                               code="tool_input_count")
        for file in files:
            check_inputs(first, [file], label, max_files=1)
        for operation, settings in steps:
            require_models(operation, self.settings.model_paths(), settings)

    async def batch(self, principal: Principal, steps: Sequence[Step], files: Sequence[ToolFile], *, label: str,
                    progress: Progress | None = None) -> AsyncIterator[BatchItem]:
        """Each file through the steps, in parallel on the render pool; items come as they finish."""
        self.check_batch(steps, files, label=label)
        finished: asyncio.Queue[BatchItem] = asyncio.Queue()
        bench = self.workbench()
        made = runs = 0

        async def one(index: int, file: ToolFile, folder: Path) -> None:
            nonlocal made, runs
            try:
                result = await self.pool.run(lambda: run(steps, [file], bench, folder), wait=True)
                made, runs = made + _made(result), runs + 1
                item = (BatchItem(index, file.filename, json=result) if isinstance(result, BaseModel)
                        else BatchItem(index, file.filename, outputs=result))
            except PicshaError as error:
                item = BatchItem(index, file.filename, error=error)
            await finished.put(item)

        async with self.scratch() as folder:  # one folder and one ledger row for the batch, not one per file
            tasks = [asyncio.create_task(one(index, file, folder)) for index, file in enumerate(files)]
            reported = 0.0
            try:
                for done in range(1, len(files) + 1):
                    item = await finished.get()
                    if progress is not None and (done == len(files) or time.monotonic() - reported >= PROGRESS_EVERY_S):
                        reported = time.monotonic()
                        await progress(done / len(files), f"{done}/{len(files)} files")
                    yield item
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if made:
                    await asyncio.shield(self._bill(principal, steps, made, label, runs=runs))

    # -- stored assets in, new assets out ---------------------------------------------------------

    @contextlib.asynccontextmanager
    async def asset_files(self, principal: Principal, asset_ids: Sequence[str]) -> AsyncIterator[list[ToolFile]]:
        """The assets' originals as local files (each sniffed again: the tools trust no stored label)."""
        if not 1 <= len(asset_ids) <= self.settings.max_asset_inputs:
            raise InvalidInput(f"Give 1 to {self.settings.max_asset_inputs} asset ids; {len(asset_ids)} were given.",
                               code="tool_input_count")
        async with contextlib.AsyncExitStack() as stack:
            files = []
            for asset_id in asset_ids:
                content = await self.assets.content(asset_id, principal)
                path = await stack.enter_async_context(self.store.local_path(content.blob_key))
                files.append(sniffed(path, content.filename))
            yield files

    async def run_assets(self, principal: Principal, steps: Sequence[Step], asset_ids: Sequence[str], *, label: str,
                         derived: Derived) -> list[Asset] | BaseModel:
        """Run on stored assets and store each output file as a new asset recording ``derived_from``."""
        async with self.asset_files(principal, asset_ids) as files:
            result = await self.run_files(principal, steps, files, label=label)
        if isinstance(result, BaseModel):
            return result
        origin = {"derived_from": {"asset_ids": list(asset_ids), "tool": derived.tool, "settings": derived.settings}}
        return [await self.save(principal, output, origin) for output in result]

    async def run_onto(self, principal: Principal, steps: Sequence[Step], asset_id: str, *, label: str) -> Asset:
        """Run on one stored asset and save the one file it makes as that asset's new version (spec 001's
        "save the result to the library file"): the file it had is kept as a version."""
        async with self.asset_files(principal, [asset_id]) as files:
            result = await self.run_files(principal, steps, files, label=label)
        if isinstance(result, BaseModel) or len(result) != 1 or self.new_version is None:
            raise InvalidInput(f"{label} does not make exactly one file, so it cannot become the asset's new version; "
                               "save it as new assets instead.", code="tool_result_not_one_file")
        return await self.new_version(principal, asset_id, result[0].data, result[0].filename)

    async def save(self, principal: Principal, output: ImageFile, metadata: dict[str, Any]) -> Asset:
        async def chunks() -> AsyncIterator[bytes]:
            yield output.data

        options = IngestOptions(metadata=metadata, on_duplicate=OnDuplicate.KEEP)
        return await self.ingest.from_stream(principal, output.filename, chunks(), options)

    async def _bill(self, principal: Principal, steps: Sequence[Step], made: int, label: str, *, runs: int = 1) -> None:
        """One ledger row for ``made`` results, and one for the model steps of ``runs`` runs that made them."""
        models = runs * sum(1 for operation, _ in steps if operation.model)
        detail = {"tool": label}
        await self.ledger.record(account_id=principal.account_id, kind=UsageKind.RENDER, quantity=made, detail=detail)
        if models:
            await self.ledger.record(account_id=principal.account_id, kind=UsageKind.AI_OPERATION, quantity=models,
                                     detail=detail)


def _made(result: list[ImageFile] | BaseModel) -> int:
    """Results a run made, as the ledger counts them (a JSON answer is one)."""
    return 1 if isinstance(result, BaseModel) else max(len(result), 1)
