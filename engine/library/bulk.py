"""One request, many assets: tag, untag, move, add to a collection, trash, restore or purge. Up to
``INLINE_MAX`` ids run in the request; more run as a job (``library.bulk``) that reports progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from engine.auth.keys import Principal
from engine.errors import InvalidInput, PicshaError
from engine.jobs import JobContext, JobKind, JobPolicy, JobRunner
from engine.library.models import BulkAction, BulkFailure, BulkRequest, BulkResult

if TYPE_CHECKING:
    from engine.library.service import Library

INLINE_MAX = 100
CHUNK = 100
JOB_KIND = "library.bulk"
JOB_POLICY = JobPolicy(attempts=3, final=(PicshaError,))  # every action may run twice: it lands the same


class Bulk:
    def __init__(self, library: Library, jobs: JobRunner):
        self.library = library
        self.jobs = jobs

    def job_kind(self) -> JobKind:
        return JobKind(JOB_KIND, self._handle, JOB_POLICY)

    @staticmethod
    def check(request: BulkRequest) -> None:
        """What each action needs, before anything runs."""
        if request.action in (BulkAction.TAG, BulkAction.UNTAG) and not request.tags:
            raise InvalidInput(f"{request.action.value} needs tags: a list of one or more.", code="bulk_tags_required")
        if request.action is BulkAction.ADD_TO_COLLECTION and not request.collection_id:
            raise InvalidInput("add_to_collection needs collection_id.", code="bulk_collection_required")
        if request.action is BulkAction.DOWNLOAD:
            raise InvalidInput("download answers a ZIP: POST /v1/assets/bulk over REST streams it.",
                               code="bulk_download_is_a_stream")

    async def run(self, principal: Principal, request: BulkRequest) -> BulkResult:
        """Run it now (up to ``INLINE_MAX`` ids) or start a job (the answer carries ``job_id``)."""
        self.check(request)
        await self._check_target(principal, request)
        if len(request.asset_ids) > INLINE_MAX:
            job_id = await self.jobs.enqueue(account_id=principal.account_id, kind=JOB_KIND,
                                             payload=request.model_dump(mode="json"))
            return BulkResult(action=request.action, done=0, job_id=job_id)
        return await self._apply(principal, request, request.asset_ids)

    async def _check_target(self, principal: Principal, request: BulkRequest) -> None:
        """An unknown folder or collection is a 404 before any work (not one failure per asset)."""
        library = self.library
        if request.action is BulkAction.MOVE and request.folder_id not in (None, "root"):
            async with library.catalog.connect() as conn:
                await library.folders.check(conn, principal, request.folder_id or "")
        if request.action is BulkAction.ADD_TO_COLLECTION:
            async with library.catalog.connect() as conn:
                await library.collections.check(conn, principal, request.collection_id or "")

    async def _apply(self, principal: Principal, request: BulkRequest, ids: Sequence[str]) -> BulkResult:
        done = await self._action(principal, request)(list(ids))
        unique = list(dict.fromkeys(ids))
        failed = [BulkFailure(id=i, code="asset_not_found") for i in unique if i not in set(done)]
        return BulkResult(action=request.action, done=len(done), failed=failed)

    def _action(self, principal: Principal, request: BulkRequest) -> Callable[[list[str]], Awaitable[list[str]]]:
        library, tags = self.library, request.tags or []

        async def purge(ids: list[str]) -> list[str]:
            result = await library.trash.purge(principal, ids)
            return [i for i in ids if i not in set(result.not_found_ids)]

        actions: dict[BulkAction, Callable[[list[str]], Awaitable[list[str]]]] = {
            BulkAction.TAG: lambda ids: library.tags.add(principal, ids, tags),
            BulkAction.UNTAG: lambda ids: library.tags.remove(principal, ids, tags),
            BulkAction.MOVE: lambda ids: library.folders.move(principal, ids, request.folder_id),
            BulkAction.ADD_TO_COLLECTION: lambda ids: library.collections.add(principal, request.collection_id or "", ids),
            BulkAction.TRASH: lambda ids: library.trash.trash(principal, ids),
            BulkAction.RESTORE: lambda ids: library.trash.restore(principal, ids),
            BulkAction.PURGE: purge,
        }
        return actions[request.action]

    async def _handle(self, job: JobContext) -> dict[str, Any]:
        request = BulkRequest.model_validate(job.payload)
        principal = Principal(account_id=job.account_id)
        ids = list(dict.fromkeys(request.asset_ids))
        done: list[str] = []
        failed: list[BulkFailure] = []
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            result = await self._apply(principal, request, part)
            done.extend(i for i in part if i not in {f.id for f in result.failed})
            failed.extend(result.failed)
            await job.report(done=start + len(part), total=len(ids), message=f"{request.action.value}: {len(done)} done")
        return BulkResult(action=request.action, done=len(done), failed=failed).model_dump(mode="json")
