"""Writes that lose a commit race to another process are tried again, a few times, on the latest version.

Lance commits a table version by writing its manifest only if no manifest of that version exists yet (on S3
a PUT with ``If-None-Match: *``; locally an atomic create). The writer that loses rebases its change onto
the winner's when the two do not overlap, and LanceDB's ``merge_insert`` retries on its own; what is left
surfaces as an error naming the conflict, e.g. a compaction preempted by another process's compaction
("Retryable commit conflict for version 23: This Rewrite transaction was preempted ..."), or, when two
processes create one account's table at once, an index build that LanceDB's create race turned into
"Incompatible transaction ... concurrent transaction Overwrite". Such a write is run again from the start,
after the table is moved to its latest version, so it reads and replaces what the other process wrote
rather than failing or writing over it. Every write here (upsert, delete, append, compaction, index
build) may safely run twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

log = logging.getLogger("picsha.search.index")

T = TypeVar("T")

ATTEMPTS = 6
BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0


def is_commit_conflict(exc: BaseException) -> bool:
    """A lost race: Lance's "Commit conflict", "Retryable commit conflict" or "Incompatible transaction" (a
    change that cannot be rebased onto the winner's; run again from the start it reads the winner's state).
    They come as RuntimeError/OSError/ValueError depending on the path, so the message is what is stable."""
    message = str(exc).lower()
    return "commit conflict" in message or "incompatible transaction" in message


async def with_conflict_retries(write: Callable[[], Awaitable[T]], *, table: Any, what: str,
                                attempts: int = ATTEMPTS, backoff_s: float = BACKOFF_S) -> T:
    """``write()``, run again (bounded, with a jittered exponential backoff) while it fails on a commit
    conflict; ``table`` is moved to its latest version before each new try. The last error is raised."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts), reraise=True, retry=retry_if_exception(is_commit_conflict),
        wait=wait_random_exponential(multiplier=backoff_s, max=MAX_BACKOFF_S),
    )
    async for attempt in retrying:
        with attempt:
            number = attempt.retry_state.attempt_number
            if number > 1:
                log.info("search index %s: commit conflict, try %d of %d on the latest version", what, number, attempts)
                await table.checkout_latest()
            return await write()
    raise AssertionError("unreachable: tenacity re-raises the last error")
