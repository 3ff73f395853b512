"""The event bus: after a commit, each subscriber gets the events it asked for.

One error policy for all of them: a subscriber that fails never fails the change that was committed (the
request still answers 2xx), and its events are handed to an ``event.retry`` job that delivers them again
with backoff, so a missed index update or webhook announcement is late, not lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.events.models import Event, EventType
from engine.jobs import JobContext, JobKind, JobPolicy, JobRunner

log = logging.getLogger("picsha.events")

RETRY_KIND = "event.retry"
RETRY_POLICY = JobPolicy(attempts=8, backoff_s=5.0, backoff_max_s=3600.0, time_limit_s=300.0, announce=False)


Listener = Callable[[list[Event]], Awaitable[None]]


@dataclass(frozen=True)
class Subscriber:
    name: str  # stable: a retry job names the subscriber it is for
    events: frozenset[EventType]
    handle: Callable[[list[Event]], Awaitable[None]]


class EventBus:
    def __init__(self, jobs: JobRunner):
        self.jobs = jobs
        self.subscribers: dict[str, Subscriber] = {}
        self.listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Hear this process's events as they happen (an MCP session's resource subscriptions).

        Unlike a subscriber, a listener is best effort: it is not retried, and a change made in another
        process is not heard here. Returns the function that stops listening.
        """
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    def route(self, subscribers: Sequence[Subscriber]) -> None:
        """Called once by the composition root, when every subscriber exists."""
        self.subscribers = {subscriber.name: subscriber for subscriber in subscribers}

    def job_kind(self) -> JobKind:
        return JobKind(RETRY_KIND, self._redeliver, RETRY_POLICY)

    async def publish(self, *events: Event) -> None:
        for subscriber in self.subscribers.values():
            mine = [event for event in events if event.type in subscriber.events]
            if not mine:
                continue
            try:
                await subscriber.handle(mine)
            except Exception:
                log.exception("subscriber %s failed on %d events; retrying in a job", subscriber.name, len(mine))
                await self._retry_later(subscriber, mine)
        for listener in list(self.listeners):
            try:
                await listener(list(events))
            except Exception:
                log.exception("an event listener failed; it misses these %d events", len(events))

    async def _retry_later(self, subscriber: Subscriber, events: list[Event]) -> None:
        payload: dict[str, Any] = {"subscriber": subscriber.name, "events": [e.model_dump(mode="json") for e in events]}
        try:
            await self.jobs.enqueue(account_id=events[0].account_id, kind=RETRY_KIND, payload=payload)
        except Exception:  # the catalog itself is failing: nothing durable can be written now
            log.exception("could not queue the retry of %s", subscriber.name)

    async def _redeliver(self, job: JobContext) -> dict[str, Any]:
        subscriber = self.subscribers.get(job.payload.get("subscriber", ""))
        if subscriber is None:
            return {"skipped": "no such subscriber"}
        events = [Event.model_validate(event) for event in job.payload.get("events") or []]
        await subscriber.handle(events)  # raising retries the job with backoff
        return {"delivered": len(events)}
