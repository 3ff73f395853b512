"""Enrichment: plans the analyses an upload asks for, runs them as a job, writes ``ai`` and the index."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.assets.models import ANALYSIS_KEY, Analysis, Asset, AssetStatus, IngestOptions
from engine.assets.service import THUMBNAIL_KIND, AssetService, not_found
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.catalog.database import now
from engine.enrich.claude import ClaudeWriter
from engine.enrich.derived_text import derived_text
from engine.enrich.model_store import TEXT, ModelStore
from engine.enrich.reindex import rebuild_index
from engine.enrich.settings import EnrichSettings
from engine.enrich.skills import ANALYSIS_FLAGS, BY_NAME, SKILLS, Skill, plan, resolve_flags
from engine.enrich.source import RECORD_FIELDS, AssetRecord, load_source
from engine.search.filters import TRASHED_STATUS

UNINDEXED = {"folder_id"}  # asset fields the search index does not hold
from engine.enrich.steps import State, Steps
from engine.errors import InvalidInput, NotFound
from engine.events import Event, EventBus, EventType, Subscriber
from engine.jobs import Job, JobContext, JobKind, JobPolicy, JobRunner
from engine.jobs.models import StepResult
from engine.media.archive import ArchiveLimits
from engine.places.google import GoogleGeocoder
from engine.search.index import SearchIndex
from engine.search.models import IndexRow
from engine.storage import BlobStore
from engine.usage import UsageKind, UsageLedger, attribute_to, calling_key

log = logging.getLogger("picsha.enrich")

JOB_KIND = "enrich"
DEFERRED_EMBED_GRACE_S = 10.0  # how long closing waits for edits whose vector waits for the text model
# A failed analysis is a failed step, recorded, not retried; a crash mid-run is safe to run again.
JOB_POLICY = JobPolicy(attempts=3, backoff_s=5.0, time_limit_s=1800.0, idempotent=True)


def with_outcome(ai: dict[str, Any], steps: list[StepResult]) -> dict[str, Any]:
    """``ai`` with its analysis record updated by a finished job's steps (earlier runs' ``done`` kept)."""
    before = Analysis(**ai.get(ANALYSIS_KEY, {}))
    ran = {step.name for step in steps}
    done = [name for name in before.done if name not in ran]
    skipped = {name: why for name, why in before.skipped.items() if name not in ran}
    failed: dict[str, str] = {}
    for step in steps:
        if step.name == "load" and step.ok:
            continue
        if not step.ok:
            failed[step.name] = step.error or "failed"
        elif step.skipped:
            skipped[step.name] = step.skipped
        else:
            done.append(step.name)
    outcome = Analysis(done=done, skipped=skipped, failed=failed)
    return {**ai, ANALYSIS_KEY: outcome.model_dump(exclude_defaults=True)}


class SkillRun(BaseModel):
    succeeded: bool
    skill: str
    job: Job
    asset: Asset


class EnrichService:
    def __init__(self, *, settings: EnrichSettings, catalog: Catalog, store: BlobStore, ledger: UsageLedger,
                 jobs: JobRunner, events: EventBus, index: SearchIndex, models: ModelStore, assets: AssetService,
                 writer: ClaudeWriter | None = None, geocoder: GoogleGeocoder | None = None,
                 archive_limits: ArchiveLimits = ArchiveLimits()):
        self.settings = settings
        self.archive_limits = archive_limits
        self.catalog = catalog
        self.store = store
        self.ledger = ledger
        self.jobs = jobs
        self.events = events
        self.index = index
        self.assets = assets
        self.limiter = anyio.CapacityLimiter(1)
        self.job_kinds = {JOB_KIND}  # jobs that run an asset's analyses (the composition root adds others)
        self._maintenance: asyncio.Task[None] | None = None
        self._deferred: dict[tuple[str, str], asyncio.Task[None]] = {}  # (account, asset) -> vector to write
        self.steps = Steps(settings=settings, models=models, charge=self._charge, writer=writer, limiter=self.limiter,
                           geocoder=geocoder)

    async def close(self) -> None:
        if self._deferred:  # edits whose vector waits for the text model: a little time, then they are dropped
            _done, late = await asyncio.wait(set(self._deferred.values()), timeout=DEFERRED_EMBED_GRACE_S)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d edited assets keep their previous text vector (the model was not ready); "
                            "their next edit or 'picsha reindex' writes it", len(late))
        if self._maintenance is not None:
            await asyncio.shield(self._maintenance)
        if self.steps.geocoder is not None:
            await self.steps.geocoder.close()

    def job_kind(self) -> JobKind:
        return JobKind(JOB_KIND, self.handle, JOB_POLICY)

    def subscriber(self) -> Subscriber:
        """The search index follows edits (new words, new text vector), deletions, and moves into and out of the
        trash (the row stays with its vectors; only its status changes, so no search finds a trashed asset)."""
        return Subscriber("search-index", frozenset({EventType.ASSET_UPDATED, EventType.ASSET_DELETED,
                                                     EventType.ASSET_TRASHED, EventType.ASSET_RESTORED}),
                          self._follow)

    async def _follow(self, events: list[Event]) -> None:
        deleted: dict[str, list[str]] = {}
        for event in events:
            asset_id = event.data["asset_id"]
            if event.type is EventType.ASSET_DELETED:
                deleted.setdefault(event.account_id, []).append(asset_id)
            elif event.type is EventType.ASSET_UPDATED and set(event.data.get("fields") or ["?"]) <= UNINDEXED:
                continue  # a move between folders changes nothing the index holds
            elif event.type in (EventType.ASSET_TRASHED, EventType.ASSET_RESTORED):
                try:
                    await self.index_now(event.account_id, asset_id)
                except NotFound:
                    pass  # purged meanwhile: its deletion removes it
            else:
                await self.edited(event.account_id, asset_id)
        for account_id, ids in deleted.items():
            await self.forget(account_id, ids)

    def gave_up_subscriber(self) -> Subscriber:
        """An analysis job that ended failed without finishing its asset (it ran out of starts, or of time)
        leaves the asset ``failed`` with the job's error, not ``processing`` for ever."""
        return Subscriber("analysis-gave-up", frozenset({EventType.JOB_FAILED}), self._gave_up)

    async def _gave_up(self, events: list[Event]) -> None:
        a = tables.assets
        for event in events:
            asset_id = event.data.get("asset_id")
            if event.data.get("kind") not in self.job_kinds or not asset_id:
                continue
            mine = [a.c.id == asset_id, a.c.account_id == event.account_id, a.c.status == AssetStatus.PROCESSING.value]
            async with self.catalog.begin() as conn:
                ai = await conn.scalar(sa.select(a.c.ai).where(*mine))
                if ai is None:
                    continue  # finished by its job, or gone
                failed = await conn.execute(a.update().where(*mine).values(
                    status=AssetStatus.FAILED.value, updated_at=now(),
                    ai={**ai, "error": f"analysis job {event.data.get('job_id')} failed: {event.data.get('error')}"[:500]}))
            if failed.rowcount:
                await self.index_now(event.account_id, asset_id)
                await self.events.publish(Event(type=EventType.ASSET_FAILED, account_id=event.account_id,
                                                data={"asset_id": asset_id, "status": AssetStatus.FAILED.value}))

    def skills(self) -> list[Skill]:
        return SKILLS

    # -- the ingest hook ---------------------------------------------------------------------------

    def plan(self, options: IngestOptions, asset_type: str) -> list[str]:
        flags = resolve_flags(options.config, self.settings.defaults)
        return plan(asset_type, flags, google_maps=self.steps.geocoder is not None)

    def not_planned(self, options: IngestOptions, asset_type: str, planned: list[str]) -> dict[str, str]:
        """The analyses that fit this type but will not run, each with why (for the asset's ``analysis``)."""
        flags = resolve_flags(options.config, self.settings.defaults)
        reasons: dict[str, str] = {}
        for skill in SKILLS:
            if asset_type not in skill.types or skill.name in planned:
                continue
            asked = [flag for flag in skill.flags if flags.get(flag)]
            reasons[skill.name] = "no Google Maps key" if asked else f"off (config.{' or config.'.join(skill.flags)})"
        return reasons

    async def admit(self, account_id: str) -> None:
        """503 jobs_backlog now if ``schedule`` would find the account's job backlog full."""
        await self.jobs.admit(account_id)

    async def schedule(self, conn: AsyncConnection, *, account_id: str, asset_id: str, skills: list[str],
                       options: IngestOptions, kind: str | None = None) -> str:
        """The asset's analysis job; ``kind``: one that runs work of its own first (a document's conversion)
        and then these analyses through ``handle``."""
        flags = resolve_flags(options.config, self.settings.defaults)
        return await self.jobs.create(conn, account_id=account_id, kind=kind or JOB_KIND, asset_id=asset_id,
                                      payload={"skills": skills, "flags": flags, "key_id": calling_key()},
                                      requested=True)

    async def committed(self, account_id: str, jobs: Mapping[str, str | None], *,
                        created: Mapping[str, bool] | None = None) -> None:
        """After an ingest transaction (asset id -> its analysis job, if any): the assets become findable by
        their words now, in one index write, by meaning later; those without a job are ready, in one event
        batch. ``created``: the assets this transaction created, each with whether any job of theirs (an
        analysis or a conversion) is queued; their rows are inserted (``SearchIndex.insert_new``), the rows of
        the others (a new version of an asset) replace what is indexed."""
        for job_id in jobs.values():
            if job_id:
                await self.jobs.submit(job_id)
        try:
            await self._index_new(account_id, list(jobs), created)
        except Exception:  # the rows are committed; ``picsha reindex`` repairs a missed index write
            log.exception("indexing %s failed", ", ".join(jobs))
        ready = [Event(type=EventType.ASSET_READY, account_id=account_id,
                       data={"asset_id": asset_id, "status": AssetStatus.READY.value})
                 for asset_id, job_id in jobs.items() if not job_id]
        if ready:
            await self.events.publish(*ready)

    async def _index_new(self, account_id: str, asset_ids: list[str], created: Mapping[str, bool] | None) -> None:
        a, d = tables.assets, tables.derivatives
        records_query = sa.select(*(a.c[f] for f in RECORD_FIELDS)).where(a.c.id.in_(asset_ids),
                                                                            a.c.account_id == account_id)
        thumbs_query = sa.select(d.c.asset_id).where(d.c.asset_id.in_(asset_ids), d.c.kind == THUMBNAIL_KIND)
        async with self.catalog.connect() as conn:
            records = [AssetRecord(**{f: getattr(row, f) for f in RECORD_FIELDS})
                       for row in (await conn.execute(records_query)).all()]
            with_thumbnail = set((await conn.execute(thumbs_query)).scalars())
        rows = [await self.index_row(record, derived_text(record), record.status, None, None,
                                     has_thumbnail=record.id in with_thumbnail) for record in records]
        created = created or {}
        if new := [row for row in rows if row.id in created]:
            await self.index.insert_new(new, contested={asset_id for asset_id, queued in created.items() if queued})
        if known := [row for row in rows if row.id not in created]:
            await self.index.upsert_many(known)
        self._maybe_maintain()

    async def index_now(self, account_id: str, asset_id: str, *, embed: bool = False) -> None:
        """Write the asset's current words (and status) to the index; its vectors stay as they are unless
        ``embed`` asks for a new MiniLM vector of the words (when the asset was uploaded with vectors)."""
        record = await self._record(account_id, asset_id)
        text = derived_text(record)
        text_vec = None
        if embed and resolve_flags(record.config or {}, self.settings.defaults)["vectorize"]:
            embedded = await anyio.to_thread.run_sync(
                lambda: self.steps.models.embed_texts([text or record.filename]), limiter=self.limiter
            )
            text_vec = [float(v) for v in embedded[0]]
            await self._charge(record, "index", "all-MiniLM-L6-v2", None)
        row = await self.index_row(record, text, record.status, text_vec, None)
        await self.index.upsert(row)
        self._maybe_maintain()

    async def edited(self, account_id: str, asset_id: str) -> None:
        """After an edit (tags, description, ...): new words and their vector at once; the CLIP vector
        describes the pixels, which an edit leaves alone. While the text model is still loading in the
        background, the words are written now and the vector once it is ready: the edit never waits."""
        if not self.steps.models.available(TEXT):
            await self.index_now(account_id, asset_id)
            self._embed_later(account_id, asset_id)
            return
        await self.index_now(account_id, asset_id, embed=True)

    def _embed_later(self, account_id: str, asset_id: str) -> None:
        key = (account_id, asset_id)
        if key in self._deferred:
            return  # the one waiting reads the asset's latest words when it runs
        task = asyncio.create_task(self._embed_when_ready(account_id, asset_id), name=f"picsha-embed-{asset_id}")
        self._deferred[key] = task
        task.add_done_callback(lambda _task: self._deferred.pop(key, None))

    async def _embed_when_ready(self, account_id: str, asset_id: str) -> None:
        try:
            if not await self.steps.models.wait(TEXT):
                log.warning("text model unavailable: %s keeps its previous text vector until its next edit", asset_id)
                return
            await self.index_now(account_id, asset_id, embed=True)
        except NotFound:
            pass  # deleted meanwhile: nothing to write
        except Exception:  # the words are indexed; the next edit or 'picsha reindex' writes the vector
            log.exception("writing the text vector of %s after warm-up failed", asset_id)

    async def forget(self, account_id: str, asset_ids: list[str]) -> None:
        await self.index.delete(account_id, list(asset_ids))
        self._maybe_maintain()

    def _maybe_maintain(self) -> None:
        """Every few writes, compact and refresh the index in the background (one run at a time)."""
        if self.index.needs_maintenance() and (self._maintenance is None or self._maintenance.done()):
            self._maintenance = asyncio.create_task(self._maintain(), name="picsha-index-maintenance")

    async def _maintain(self) -> None:
        try:
            await self.index.maintain(wait_for_builds=False)  # a vector index build goes on in its own task
        except Exception:  # the index stays correct without it, only slower
            log.exception("index maintenance failed")

    async def after_upload(self, principal: Principal, asset: Asset, *, wait: bool) -> tuple[Asset, str | None]:
        """An upload whose analyses run in the background: the id of its job, and with ``wait`` the asset as it
        is once that job finished (still ``processing`` when the wait timed out)."""
        job = await self.jobs.latest_for_asset(principal.account_id, asset.id)
        if wait and (job is None or await self.jobs.wait(job.id, self.settings.wait_timeout_s)):
            asset = await self.assets.get(principal, asset.id)
        if job is not None:
            asset = asset.model_copy(update={"job_id": job.id})
        return asset, job.id if job else None

    async def wait_for_asset(self, account_id: str, asset_id: str, timeout_s: float | None = None) -> bool:
        job = await self.jobs.latest_for_asset(account_id, asset_id)
        return True if job is None else await self.jobs.wait(job.id, timeout_s or self.settings.wait_timeout_s)

    # -- running ---------------------------------------------------------------------------------

    async def handle(self, job: JobContext, *, text: str | None = None,
                     tolerated: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """Run the job's analyses. ``text``: the document's words when another step found them (a PDF view);
        ``tolerated``: earlier steps of the same job whose failure leaves the asset ready."""
        if job.asset_id is None:
            raise InvalidInput("An enrichment job needs an asset.", code="job_invalid")
        attribute_to(job.payload.get("key_id"))  # its AI operations are the uploading key's
        record = await self._record(job.account_id, job.asset_id)
        flags: dict[str, bool] = job.payload.get("flags") or {}
        state: State | None = None

        async def load() -> None:
            nonlocal state
            async with self.store.local_path(record.blob_key) as path:
                source = await anyio.to_thread.run_sync(lambda: load_source(
                    record, path, max_side=self.settings.max_side_px, pdf_pages=self.settings.pdf_pages,
                    archive=self.archive_limits),
                    limiter=self.limiter)
            source.text = source.text or text
            state = State(source=source, flags=flags, ai=dict(record.ai or {}))

        if not await job.run_step("load", load) or state is None:
            await self._finish(record, with_outcome(dict(record.ai or {}), job.steps), AssetStatus.FAILED, None)
            return await self.index_now(record.account_id, record.id)  # the index shows the failed status
        loaded: State = state
        skills = [name for name in job.payload.get("skills") or [] if name != "index"]
        for done, name in enumerate(skills):
            await job.report(done=done, total=len(skills) + 1, message=f"running {name}")
            await job.run_step(name, lambda name=name: getattr(self.steps, name)(loaded))
        failed = any(not step.ok and step.name not in tolerated for step in job.steps)
        status = AssetStatus.FAILED if failed else AssetStatus.READY
        await job.run_step("index", lambda: self._index(loaded, status))
        await self._finish(record, with_outcome(loaded.ai, job.steps), status, loaded.location)
        return {"asset_id": record.id, "status": status.value}

    async def _index(self, state: State, status: AssetStatus) -> str | None:
        skipped = await self.steps.index_text(state)
        row = await self.index_row(state.source.record, state.text, status.value, state.text_vec, state.clip_vec)
        await self.index.upsert(row)
        self._maybe_maintain()
        return skipped

    async def _finish(self, record: AssetRecord, ai: dict[str, Any], status: AssetStatus,
                      location: dict[str, Any] | None) -> None:
        a = tables.assets
        values: dict[str, Any] = dict(ai=ai, status=status.value, updated_at=now())
        if location is not None:
            values["location"] = location
        async with self.catalog.begin() as conn:
            await conn.execute(a.update().where(a.c.id == record.id, a.c.account_id == record.account_id).values(**values))
        kind = EventType.ASSET_READY if status is AssetStatus.READY else EventType.ASSET_FAILED
        await self.events.publish(Event(type=kind, account_id=record.account_id,
                                        data={"asset_id": record.id, "status": status.value}))

    async def _charge(self, record: AssetRecord, step: str, model: str, cost_usd: float | None) -> None:
        await self.ledger.record(account_id=record.account_id, asset_id=record.id, kind=UsageKind.AI_OPERATION, quantity=1,
                                 cost_usd=cost_usd, detail={"step": step, "model": model})

    # -- skills on demand ----------------------------------------------------------------------------

    async def run_skill(self, principal: Principal, asset_id: str, name: str) -> SkillRun:
        skill = BY_NAME.get(name)
        if skill is None:
            raise NotFound(f"No skill {name!r}. Skills: {', '.join(BY_NAME)}.", code="skill_not_found", skill=name)
        asset = await self.assets.get(principal, asset_id)
        if asset.type.value not in skill.types:
            raise InvalidInput(f"Skill {name!r} runs on {', '.join(skill.types)}, not {asset.type.value}.",
                               code="skill_not_applicable", skill=name)
        flags = {flag: True for flag in ANALYSIS_FLAGS}
        job_id = await self.jobs.enqueue(account_id=principal.account_id, kind=JOB_KIND, asset_id=asset_id,
                                         payload={"skills": [name], "flags": flags, "key_id": calling_key()},
                                         requested=True)
        await self.jobs.wait(job_id, self.settings.wait_timeout_s)
        job = await self.jobs.get(principal.account_id, job_id)
        ok = job.status.value == "ready"
        return SkillRun(succeeded=ok, skill=name, job=job, asset=await self.assets.get(principal, asset_id))

    async def reindex(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the whole search index from the catalog; the number of assets written."""
        return await rebuild_index(self, progress)

    async def refresh_taken(self, account_id: str) -> None:
        """Write the catalog's taken times over an account's index rows (after the index gave an older table
        the taken columns, filled with the upload times), a batch at a time."""
        a = tables.assets
        last = ""
        while True:
            query = (sa.select(a.c.id, a.c.taken_at, a.c.taken_offset)
                     .where(a.c.account_id == account_id, a.c.id > last, a.c.taken_at.is_not(None))
                     .order_by(a.c.id).limit(1000))
            async with self.catalog.connect() as conn:
                rows = (await conn.execute(query)).all()
            if not rows:
                return
            await self.index.set_taken(account_id, [(row.id, row.taken_at, row.taken_offset) for row in rows])
            last = rows[-1].id

    # -- catalog -------------------------------------------------------------------------------------

    async def _record(self, account_id: str, asset_id: str) -> AssetRecord:
        a = tables.assets
        query = sa.select(*(a.c[f] for f in RECORD_FIELDS)).where(a.c.id == asset_id, a.c.account_id == account_id)
        async with self.catalog.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise not_found(asset_id)
        return AssetRecord(**{f: getattr(row, f) for f in RECORD_FIELDS})

    async def index_row(self, record: AssetRecord, text: str, status: str, text_vec: list[float] | None,
                        clip_vec: list[float] | None, *, has_thumbnail: bool | None = None) -> IndexRow:
        """``has_thumbnail``: given by a caller that read it for many assets at once, else read here."""
        d = tables.derivatives
        thumbs = has_thumbnail
        if thumbs is None:
            async with self.catalog.connect() as conn:
                thumbs = bool(await conn.scalar(sa.select(sa.func.count()).select_from(d)
                                                .where(d.c.asset_id == record.id, d.c.kind == THUMBNAIL_KIND)))
        location = record.location or {}
        return IndexRow(
            id=record.id, account_id=record.account_id, type=record.type,
            status=TRASHED_STATUS if record.trashed_at is not None else status,
            created_at=record.created_at, taken_at=record.taken_at, taken_offset=record.taken_offset,
            filename=record.filename, tags=record.tags or [],
            place=location.get("label"), lat=location.get("lat"), lon=location.get("lon"),
            has_thumbnail=bool(thumbs), text=text, text_vec=text_vec, clip_vec=clip_vec,
        )
