"""``IngestGroups``: files that arrive one by one (a crawl's downloads) stored in groups.

Each ``add`` waits for its own answer, as ``from_staged`` would give it; meanwhile the files that arrived
while a group was being stored go together in the next one (``IngestService.from_staged_many``), so a
steady stream pays one catalog transaction, one index write and one event batch per group, not per file.
"""

from __future__ import annotations

import asyncio

from engine.assets.models import Asset, IngestOptions
from engine.auth.keys import Principal
from engine.ingest.service import Incoming, IngestService
from engine.ingest.staging import StagedFile

MAX_GROUP = 64
GROUPS_AT_ONCE = 2  # one group's previews are made while the one before it is committed


class IngestGroups:
    def __init__(self, ingest: IngestService, principal: Principal, *, max_group: int = MAX_GROUP,
                 groups_at_once: int = GROUPS_AT_ONCE):
        self.ingest = ingest
        self.principal = principal
        self.max_group = max_group
        self.groups_at_once = groups_at_once
        self.waiting: list[tuple[Incoming, asyncio.Future[Asset]]] = []
        self.running = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def add(self, staged: StagedFile, filename: str, options: IngestOptions) -> Asset:
        """Store one file (consumed); raises what ``from_staged`` would raise for it alone."""
        answer: asyncio.Future[Asset] = asyncio.get_running_loop().create_future()
        self.waiting.append((Incoming(staged, filename, options), answer))
        if self.running < self.groups_at_once:
            self.running += 1  # counted here, not when the task starts: the next ``add`` sees it at once
            task = asyncio.create_task(self._run(), name="picsha-ingest-group")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await asyncio.shield(answer)  # a caller that stops waiting does not stop its group

    async def _run(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting[: self.max_group], self.waiting[self.max_group :]
                await self._store(group)
        finally:
            self.running -= 1  # with no await after the last look at ``waiting``: no file is left behind
            if not self.running:  # only when stopped (cancelled): nobody is left to store these
                for file, answer in self.waiting:
                    file.staged.discard()
                    answer.set_exception(RuntimeError("the ingest stopped before this file was stored"))
                self.waiting = []

    async def _store(self, group: list[tuple[Incoming, asyncio.Future[Asset]]]) -> None:
        try:
            outcomes: list[Asset | Exception] = await self.ingest.from_staged_many(
                self.principal, [file for file, _ in group])
        except Exception as error:
            outcomes = [error] * len(group)
        except BaseException:
            for file, answer in group:
                file.staged.discard()
                if not answer.done():
                    answer.set_exception(RuntimeError("the ingest stopped before this file was stored"))
            raise
        for (_file, answer), outcome in zip(group, outcomes, strict=True):
            if answer.done():
                continue
            if isinstance(outcome, Exception):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)

    async def aclose(self) -> None:
        """Wait for the groups being stored (a crawl that stops still finishes the files it handed over)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
