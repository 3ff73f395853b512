"""Asset tools: upload, get, list, update, delete."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio

from pydantic import BaseModel, ConfigDict, Field

from engine.assets import Asset, AssetPatch, IngestConfig, IngestOptions, ListQuery
from engine.assets.models import TEXT_FIELD_MAX, Metadata, OnDuplicate
from engine.errors import Busy, Forbidden, InvalidInput
from engine.ingest.local_paths import allowed_roots
from engine.uploads.links import signed_upload_url
from engine.uploads.models import UploadCreate
from engine.usage import UsageKind
from tools_manifest.calls import current_call
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ToolSpec
from tools_manifest.views import ViewOptions, view

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

ASSET_ID = Field(min_length=3, max_length=80, pattern=r"^as_[A-Za-z0-9]+$", description="Asset id (as_...).")

# -- upload_asset ---------------------------------------------------------------------------------------

MAX_WAIT_S = 60
UPLOAD_SOURCES = ("url", "base64", "path", "upload_id")  # exactly one is given; a new source is one more name here


class UploadAssetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2048, description="http(s) URL for Picsha to fetch.")
    base64: str | None = Field(default=None, description="The file's bytes as base64 (give filename too).")
    filename: str | None = Field(default=None, min_length=1, max_length=255, description="Name for base64 data, e.g. 'cat.jpg'.")
    path: str | None = Field(
        default=None, max_length=4096,
        description="A local file (stdio only) in your MCP roots or home folder.",
    )
    upload_id: str | None = Field(
        default=None, max_length=80, pattern=r"^up_[A-Za-z0-9]+$",
        description="A finished resumable upload's id.",
    )
    config: IngestConfig | None = Field(default=None, description="Which analyses run; omitted = server defaults.")
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100, description="Labels to attach, e.g. ['invoices', 'acme']."
    )
    metadata: Metadata = Field(default_factory=dict, description="Your own JSON fields, stored as given.")
    description: str | None = Field(default=None, max_length=TEXT_FIELD_MAX, description="Free text, searchable.")
    on_duplicate: OnDuplicate = Field(
        default=OnDuplicate.KEEP,
        description="Same bytes stored before: keep = store again (duplicate_of names it), reuse = return it.",
    )
    wait_s: int = Field(
        default=0, ge=0, le=MAX_WAIT_S,
        description="Wait this long for the analyses, with progress.",
    )

    def options(self) -> IngestOptions:
        return IngestOptions(
            config=self.config or IngestConfig(), tags=self.tags, metadata=self.metadata,
            description=self.description, on_duplicate=self.on_duplicate,
        )


def _one_source(given: UploadAssetInput) -> str:
    present = [name for name in UPLOAD_SOURCES if getattr(given, name) is not None]
    if len(present) != 1:
        raise InvalidInput(
            f"Give exactly one of {', '.join(UPLOAD_SOURCES)}; got {', '.join(present) or 'none'}.",
            code="asset_file_required", allowed=list(UPLOAD_SOURCES),
        )
    return present[0]


async def upload_asset(engine: Engine, principal: Principal, given: UploadAssetInput) -> Asset:
    """Fetching a URL and making previews can take seconds: the caller hears when it starts and ends."""
    progress = current_call().progress
    async with engine.admission.uploads.enter():  # the same places as REST uploads: full is upload_busy at once
        await progress(0, 1, "fetching and storing" if given.url else "storing")
        asset = await _ingest(engine, principal, given)
        await progress(1, 1, "stored")
    asset, job_id = await engine.enrich.after_upload(principal, asset, wait=False)  # names its analysis job
    if job_id is None or given.wait_s == 0 or asset.duplicate_of == asset.id:
        return asset
    try:
        async with engine.admission.analyses.enter():
            await _follow_analysis(engine, principal, job_id, given.wait_s)
    except Busy:  # too many callers waiting already: the stored asset answers now, still processing
        return asset
    found = await engine.assets.get(principal, asset.id)
    return found.model_copy(update={"job_id": job_id, "duplicate_of": asset.duplicate_of})


async def _follow_analysis(engine: Engine, principal: Principal, job_id: str, wait_s: int) -> None:
    """Until the analysis job ends or ``wait_s`` runs out, each of its stages as a progress notification."""
    progress = current_call().progress
    with anyio.move_on_after(wait_s):
        async for job in engine.jobs.watch(principal.account_id, job_id):
            await progress(job.done or 0, job.total, job.message or job.status.value)
            if job.finished:
                return


async def _ingest(engine: Engine, principal: Principal, given: UploadAssetInput) -> Asset:
    source = _one_source(given)
    options = given.options()
    if source == "url":
        return await engine.ingest.from_url(principal, given.url or "", options)
    if source == "upload_id":
        return await engine.uploads.finished_asset(principal, given.upload_id or "")
    if source == "base64":
        if not given.filename:
            raise InvalidInput("base64 needs a filename (e.g. 'photo.jpg').", code="asset_filename_required")
        return await engine.ingest.from_base64(principal, given.base64 or "", given.filename, options)
    call = current_call()
    if not call.is_local:
        raise Forbidden(
            "'path' works only when Picsha runs on your machine (MCP over stdio); send 'url' or 'base64' instead.",
            code="asset_path_not_allowed",
        )
    within = allowed_roots(await call.client_roots(), engine.settings.ingest.path_roots)
    return await engine.ingest.from_path(principal, Path(given.path or ""), options, within=within)


# -- get / list / update / delete --------------------------------------------------------------------------


class AssetRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ASSET_ID


class UpdateAssetInput(AssetPatch):
    """The asset id plus the REST PATCH body: only fields given change."""

    id: str = ASSET_ID


class DeleteAssetInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ASSET_ID
    confirm: bool = Field(default=False, description="Must be true: deletion cannot be undone.")


async def get_asset(engine: Engine, principal: Principal, given: AssetRef) -> Asset:
    return await engine.assets.get(principal, given.id)


class ListAssetsInput(ListQuery, ViewOptions):
    """The REST list query plus how much of each asset to show."""


class AssetList(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="Brief rows; more with fields or detail: full."
    )
    total: int
    page: int
    page_size: int


async def list_assets(engine: Engine, principal: Principal, given: ListAssetsInput) -> AssetList:
    query = ListQuery(**given.model_dump(include=set(ListQuery.model_fields)))
    if query.q and query.q.strip():  # words: the hybrid search REST's GET /v1/assets?q= runs, by relevance
        async with engine.admission.searches.enter():
            page = await engine.search.asset_page(principal, query)
    else:
        page = await engine.assets.list(principal, query)
    return AssetList(items=[view(asset, given) for asset in page.items], total=page.total, page=page.page,
                     page_size=page.page_size)


async def update_asset(engine: Engine, principal: Principal, given: UpdateAssetInput) -> Asset:
    patch = AssetPatch.model_validate(given.model_dump(exclude={"id"}, exclude_unset=True))
    return await engine.assets.update(principal, given.id, patch)


async def delete_asset(engine: Engine, principal: Principal, given: DeleteAssetInput) -> Asset:
    if not given.confirm:
        raise InvalidInput(
            f"Deleting {given.id} cannot be undone; call again with confirm: true.", code="confirmation_required",
        )
    return await engine.assets.delete(principal, given.id)


UPLOAD_URL_TTL_S = 3600


class CreateUploadInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255, description="e.g. 'video-frames.zip'.")
    size: int = Field(ge=1, le=1 << 40, description="Bytes of the file.")


class UploadTicket(BaseModel):
    upload_id: str
    url: str
    expires_at: datetime
    command: str


async def create_upload(engine: Engine, principal: Principal, given: CreateUploadInput) -> UploadTicket:
    if current_call().is_local:
        raise InvalidInput("Picsha runs on this machine: give upload_asset the file's path instead.",
                           code="create_upload_local")
    upload = await engine.uploads.create(principal, UploadCreate(length=given.size, metadata={"filename": given.filename}))
    url = signed_upload_url(engine.signer, engine.settings.public_url, account_id=principal.account_id,
                            upload_id=upload.id, ttl_s=UPLOAD_URL_TTL_S)
    command = (f"curl -sS -X PATCH '{url}' -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' "
               f"-H 'Content-Type: application/offset+octet-stream' --data-binary @{shlex.quote(given.filename)}")
    return UploadTicket(upload_id=upload.id, url=url, command=command,
                        expires_at=datetime.now(UTC) + timedelta(seconds=UPLOAD_URL_TTL_S))


READ = Hints(read_only=True, destructive=False, idempotent=True, open_world=False)
FREE = Cost(note="free")

TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="upload_asset",
        scope=Scope.ASSETS_WRITE,
        title="Upload an asset",
        description=(
            "Store an image, PDF or document. Exactly one source: url (Picsha fetches it), base64 with filename, "
            "path (a local file, stdio only) or upload_id (a finished resumable upload, for large files). "
            "Returns the asset: id (as_...), type, size, dimensions, signed URLs."
        ),
        example={"url": "https://example.com/cat.jpg", "tags": ["cats"]},
        input=UploadAssetInput,
        output=Asset,
        hints=Hints(read_only=False, destructive=False, idempotent=False, open_world=True),
        cost=Cost(billed_as=[UsageKind.STORAGE], note="storage: one month of the file's bytes, at upload"),
        run=upload_asset,
    ),
    ToolSpec(
        id="create_upload",
        scope=Scope.ASSETS_WRITE,
        title="Create an upload",
        description="For a large local file when Picsha runs elsewhere: a signed resumable-upload URL (1 h) and "
        "a curl command that sends the file without its bytes passing through you; then upload_asset(upload_id).",
        example={"filename": "scan.tiff", "size": 250000000},
        input=CreateUploadInput,
        output=UploadTicket,
        hints=Hints(read_only=False, destructive=False, idempotent=False, open_world=False),
        cost=Cost(billed_as=[UsageKind.STORAGE], note="storage, when the file arrives"),
        run=create_upload,
    ),
    ToolSpec(
        id="get_asset",
        scope=Scope.ASSETS_READ,
        title="Get an asset",
        description="Read one asset's JSON: status, type, meta (size, dimensions, EXIF), AI fields, tags, URLs.",
        example={"id": "as_2x9Kq"},
        input=AssetRef,
        output=Asset,
        hints=READ,
        cost=FREE,
        run=get_asset,
    ),
    ToolSpec(
        id="list_assets",
        scope=Scope.ASSETS_READ,
        title="List assets",
        description=(
            "Page through this account's assets, newest first; filter by type, status or taken dates, or by q "
            "(words, found by meaning as search_assets does). Returns brief rows (add parts with fields, or detail: full), total, page, page_size."
        ),
        example={"type": "image", "page_size": 10, "fields": ["tags"]},
        input=ListAssetsInput,
        output=AssetList,
        hints=READ,
        cost=FREE,
        run=list_assets,
        listed=False,  # search_assets covers it (sort, filters, no query); still callable, over REST and in pipelines
    ),
    ToolSpec(
        id="update_asset",
        scope=Scope.ASSETS_WRITE,
        title="Update an asset",
        description="Change an asset's filename, description, alt_text, tags, metadata or is_public; "
        "fields not given stay. Returns the updated asset.",
        example={"id": "as_2x9Kq", "tags": ["cats", "garden"]},
        input=UpdateAssetInput,
        output=Asset,
        hints=Hints(read_only=False, destructive=False, idempotent=True, open_world=False),
        cost=FREE,
        run=update_asset,
    ),
    ToolSpec(
        id="delete_asset",
        scope=Scope.ASSETS_WRITE,
        title="Delete an asset",
        description="Delete an asset and its renders for good. Refuses unless confirm is true. "
        "Returns the asset as it was.",
        example={"id": "as_2x9Kq", "confirm": True},
        input=DeleteAssetInput,
        output=Asset,
        hints=Hints(read_only=False, destructive=True, idempotent=True, open_world=False),
        cost=FREE,
        run=delete_asset,
        listed=False,  # organize_assets covers it (trash, purge); still callable, over REST and in pipelines
    ),
]
