"""``/v1/assets`` routes: validate, make one engine call, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from engine.assets import Asset, AssetPage, AssetPatch, AssetStatus, AssetType, ListQuery
from engine.assets.taken import Moment
from engine.assets.models import MAX_PAGE, BatchDeleteResult, SortField, SortOrder, UsageStats
from engine.library.models import LibraryFilter
from picsha_mcp.rest.delivery import PRIVATE_CACHE, SIGNED_CACHE, authorize, stream_content
from picsha_mcp.rest.jobs import JOB_ID_HEADER
from picsha_mcp.rest.deps import EngineDep, PrincipalDep, caller
from picsha_mcp.rest.ingest_request import INGEST_OPENAPI, ingest_request
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1/assets", tags=["assets"])
TAKEN_AFTER = ListQuery.model_fields["taken_after"].description
TAKEN_BEFORE = ListQuery.model_fields["taken_before"].description
PURGE = ("Delete for good at once (the asset, its versions, derivatives and, unless another asset shares "
         "them, its blobs), whether in the trash or not; false: move to the trash.")
FOLDER, COLLECTION, COLOR, COLOR_DISTANCE = (LibraryFilter.model_fields[name].description for name in (
    "folder_id", "collection_id", "color", "color_distance"))


def json_model(model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A model answered as pydantic's own JSON (no second validation against the response model, no
    intermediate dict): the route's ``response_model`` still documents it."""
    return Response(model.model_dump_json(), status_code=status_code, headers=headers, media_type="application/json")


@router.post(
    "", status_code=201, response_model=Asset, openapi_extra=INGEST_OPENAPI,
    responses={
        200: {"model": Asset, "description": "Analysed and ready (wait=true)."},
        202: {"model": Asset, "description": "Stored; analyses running. Location: /v1/jobs/{id}."},
    },
)
@needs(Scope.ASSETS_WRITE)
async def create_asset(request: Request, engine: EngineDep, principal: PrincipalDep) -> JSONResponse:
    """Upload a file (multipart, JSON url/base64, or raw body).

    201 when ready; 202 ``processing`` while analyses run (``Location`` names the job); with ``wait=true``
    the call waits up to the configured timeout and answers 200 once they finished. With
    ``on_duplicate=reuse`` and the same bytes already stored, 200 with that asset (nothing is created).
    """
    async with engine.admission.uploads.enter():  # full: 503 + Retry-After before the body is read
        asset, wait = await ingest_request(request, engine, principal)
    if asset.duplicate_of == asset.id:
        return JSONResponse(asset.model_dump(mode="json"), status_code=200)
    ready_at_once = asset.status is not AssetStatus.PROCESSING  # no analyses, or they finished already
    asset, job_id = await engine.enrich.after_upload(principal, asset, wait=wait and not ready_at_once)
    headers = {JOB_ID_HEADER: job_id} if job_id else {}
    if ready_at_once:
        return JSONResponse(asset.model_dump(mode="json"), status_code=201, headers=headers)
    if asset.status is not AssetStatus.PROCESSING:
        return JSONResponse(asset.model_dump(mode="json"), status_code=200, headers=headers)
    if job_id:
        headers["Location"] = f"/v1/jobs/{job_id}"
    return JSONResponse(asset.model_dump(mode="json"), status_code=202, headers=headers)


@router.get("", response_model=AssetPage)
@needs(Scope.ASSETS_READ)
async def list_assets(
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    q: Annotated[str | None, Query(max_length=500)] = None,
    type: AssetType | None = None,
    status: AssetStatus | None = None,
    taken_after: Annotated[Moment | None, Query(description=TAKEN_AFTER)] = None,
    taken_before: Annotated[Moment | None, Query(description=TAKEN_BEFORE)] = None,
    sort: SortField = SortField.CREATED_AT,
    order: SortOrder = SortOrder.DESC,
    folder_id: Annotated[str | None, Query(description=FOLDER)] = None,
    collection_id: Annotated[str | None, Query(description=COLLECTION)] = None,
    color: Annotated[str | None, Query(description=COLOR)] = None,
    color_distance: Annotated[float, Query(gt=0, le=100, description=COLOR_DISTANCE)] = 20.0,
) -> Response:
    """The library's live assets (trashed ones: ``GET /v1/assets/trash``). With words in ``q`` and no folder,
    collection or colour: the hybrid search in relevance order; with those, ``q`` matches words of the
    filename, description and alt text."""
    engine, principal = await caller(request)
    query = ListQuery(page=page, page_size=page_size, q=q, type=type, status=status, taken_after=taken_after,
                      taken_before=taken_before, sort=sort, order=order)
    narrowing = LibraryFilter.model_validate({"folder_id": folder_id, "collection_id": collection_id, "color": color,
                                              "color_distance": color_distance})
    if narrowing.narrows():
        return json_model(await engine.library.list(principal, query, narrowing))
    if q and q.strip():  # words: the same hybrid search as POST /v1/search, in relevance order
        async with engine.admission.searches.enter():
            return json_model(await engine.search.asset_page(principal, query))
    return json_model(await engine.assets.list(principal, query))


@router.get("/usage-stats", response_model=UsageStats)
@needs(Scope.ASSETS_READ)
async def usage_stats(engine: EngineDep, principal: PrincipalDep) -> UsageStats:
    return await engine.assets.usage_stats(principal)


@router.post("/batch-delete", response_model=BatchDeleteResult)
@needs(Scope.ASSETS_WRITE)
async def batch_delete(
    engine: EngineDep, principal: PrincipalDep, ids: Annotated[list[str], Body(embed=True, max_length=1000)],
    purge: Annotated[bool, Body(embed=True, description=PURGE)] = False,
) -> BatchDeleteResult:
    """Move the assets to the trash (``deleted`` counts those moved), or with ``purge: true`` delete them for
    good (trashed ones too). ``POST /v1/assets/bulk`` does this and more."""
    if purge:
        return await engine.library.trash.purge(principal, ids)
    moved = await engine.library.trash.trash(principal, ids)
    return BatchDeleteResult(requested=len(ids), deleted=len(moved), not_found_ids=[i for i in dict.fromkeys(ids)
                                                                                   if i not in moved])


@router.get("/{asset_id}", response_model=Asset)
@needs(Scope.ASSETS_READ)
async def get_asset(asset_id: str, request: Request) -> Response:
    engine, principal = await caller(request)
    return json_model(await engine.assets.get(principal, asset_id))


@router.patch("/{asset_id}", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def update_asset(asset_id: str, patch: AssetPatch, engine: EngineDep, principal: PrincipalDep) -> Asset:
    return await engine.assets.update(principal, asset_id, patch)


@router.delete("/{asset_id}", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def delete_asset(asset_id: str, engine: EngineDep, principal: PrincipalDep,
                       purge: Annotated[bool, Query(description=PURGE)] = False) -> Response:
    """Move the asset to the trash (the answer carries ``trashed_at``; ``POST .../restore`` brings it back;
    it is deleted for good after ``PICSHA_TRASH__KEEP_DAYS`` days). With ``purge=true`` it is deleted for good
    at once, as the picsha spec's DELETE did."""
    if purge:
        return json_model(await engine.library.trash.purge_one(principal, asset_id))
    return json_model(await engine.library.trash.trash_one(principal, asset_id))


@router.get("/{asset_id}/content")
@needs(Scope.ASSETS_READ)
async def get_content(asset_id: str, request: Request, engine: EngineDep) -> Response:
    """The original bytes, with HTTP Range. Works with a key, a signed URL, or for a public asset."""
    content = await authorize(request, engine, asset_id, engine.assets.content)
    cache = SIGNED_CACHE if engine.signer.is_signed(request.query_params) else PRIVATE_CACHE
    return stream_content(request, engine, content, cache_control=cache)
