"""The media library over REST: ``/v1/folders``, ``/v1/collections``, and the library's asset routes (trash,
restore, tag edits, similar). Each route validates, makes one engine call and shapes the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from engine.auth.scopes import Scope
from engine.assets import Asset, AssetPage, ListQuery
from engine.assets.models import MAX_PAGE, SortField, SortOrder
from engine.library.models import (
    BulkAction,
    BulkRequest,
    BulkResult,
    CollectionAdd,
    CollectionCreate,
    CollectionDetail,
    CollectionList,
    CollectionPatch,
    Folder,
    FolderCreate,
    FolderList,
    FolderPatch,
    SimilarBy,
    SimilarList,
    TagsAdd,
    VersionList,
)
from engine.ingest.service import clean_filename
from picsha_mcp.rest.access import needs
from picsha_mcp.rest.assets import json_model
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from picsha_mcp.rest.ingest_request import multipart_file
from picsha_mcp.rest.jobs import JOB_ID_HEADER

folders = APIRouter(prefix="/v1/folders", tags=["library"])
collections = APIRouter(prefix="/v1/collections", tags=["library"])
assets = APIRouter(prefix="/v1/assets", tags=["library"])  # included before /v1/assets/{id}


# -- folders ----------------------------------------------------------------------------------------------

@folders.get("", response_model=FolderList)
@needs(Scope.ASSETS_READ)
async def list_folders(engine: EngineDep, principal: PrincipalDep) -> FolderList:
    """Every folder of the account, each with its path and how many live assets are directly in it."""
    return await engine.library.folders.list(principal)


@folders.post("", status_code=201, response_model=Folder)
@needs(Scope.ASSETS_WRITE)
async def create_folder(given: FolderCreate, engine: EngineDep, principal: PrincipalDep) -> Folder:
    return await engine.library.folders.create(principal, given)


@folders.patch("/{folder_id}", response_model=Folder)
@needs(Scope.ASSETS_WRITE)
async def update_folder(folder_id: str, patch: FolderPatch, engine: EngineDep, principal: PrincipalDep) -> Folder:
    """Rename or move (``parent_id: null``: to the top level). Moving a folder into itself is 409 folder_cycle."""
    return await engine.library.folders.update(principal, folder_id, patch)


@folders.delete("/{folder_id}", status_code=204)
@needs(Scope.ASSETS_WRITE)
async def delete_folder(folder_id: str, engine: EngineDep, principal: PrincipalDep) -> Response:
    """The folder goes; its assets and sub-folders move up to its parent (or the top level)."""
    await engine.library.folders.delete(principal, folder_id)
    return Response(status_code=204)


# -- collections --------------------------------------------------------------------------------------------

@collections.get("", response_model=CollectionList)
@needs(Scope.ASSETS_READ)
async def list_collections(engine: EngineDep, principal: PrincipalDep) -> CollectionList:
    return await engine.library.collections.list(principal)


@collections.post("", status_code=201, response_model=CollectionDetail)
@needs(Scope.ASSETS_WRITE)
async def create_collection(given: CollectionCreate, engine: EngineDep, principal: PrincipalDep) -> CollectionDetail:
    return await engine.library.collections.create(principal, given)


@collections.get("/{collection_id}", response_model=CollectionDetail)
@needs(Scope.ASSETS_READ)
async def get_collection(collection_id: str, engine: EngineDep, principal: PrincipalDep) -> CollectionDetail:
    """The collection with ``asset_ids`` in order (trashed assets left out)."""
    return await engine.library.collections.get(principal, collection_id)


@collections.patch("/{collection_id}", response_model=CollectionDetail)
@needs(Scope.ASSETS_WRITE)
async def update_collection(collection_id: str, patch: CollectionPatch, engine: EngineDep,
                            principal: PrincipalDep) -> CollectionDetail:
    return await engine.library.collections.update(principal, collection_id, patch)


@collections.delete("/{collection_id}", status_code=204)
@needs(Scope.ASSETS_WRITE)
async def delete_collection(collection_id: str, engine: EngineDep, principal: PrincipalDep) -> Response:
    """The collection goes; its assets stay in the library."""
    await engine.library.collections.delete(principal, collection_id)
    return Response(status_code=204)


@collections.post("/{collection_id}/assets", response_model=CollectionDetail)
@needs(Scope.ASSETS_WRITE)
async def add_to_collection(collection_id: str, given: CollectionAdd, engine: EngineDep,
                            principal: PrincipalDep) -> CollectionDetail:
    """Add assets in the order given, before ``position`` (0-based; none: at the end). Ids that are not the
    caller's live assets are left out; one already in the collection moves to the new place."""
    await engine.library.collections.add(principal, collection_id, given.asset_ids, given.position)
    return await engine.library.collections.get(principal, collection_id)


@collections.delete("/{collection_id}/assets/{asset_id}", status_code=204)
@needs(Scope.ASSETS_WRITE)
async def remove_from_collection(collection_id: str, asset_id: str, engine: EngineDep,
                                 principal: PrincipalDep) -> Response:
    await engine.library.collections.remove(principal, collection_id, asset_id)
    return Response(status_code=204)


# -- the library's asset routes -------------------------------------------------------------------------------

@assets.get("/trash", response_model=AssetPage)
@needs(Scope.ASSETS_READ)
async def list_trash(
    engine: EngineDep, principal: PrincipalDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    sort: SortField = SortField.CREATED_AT,
    order: SortOrder = SortOrder.DESC,
) -> AssetPage:
    """Trashed assets (each with ``trashed_at``), paged like the list. They are deleted for good after
    ``PICSHA_TRASH__KEEP_DAYS`` days, or at once with ``DELETE /v1/assets/{id}?purge=true``."""
    query = ListQuery(page=page, page_size=page_size, sort=sort, order=order)
    return await engine.library.trash.page(principal, query)


@assets.post("/bulk", response_model=BulkResult,
             responses={202: {"model": BulkResult, "description": "Started as a job (more than 100 ids)."},
                        200: {"content": {"application/zip": {}}, "description": "download: a ZIP."}})
@needs(Scope.ASSETS_WRITE)
async def bulk(given: BulkRequest, engine: EngineDep, principal: PrincipalDep) -> Response:
    """One action on up to 1000 assets: ``tag``/``untag`` (``tags``), ``move`` (``folder_id``; none or 'root':
    the top level), ``add_to_collection`` (``collection_id``), ``trash``, ``restore``, ``purge`` (for good),
    ``download`` (a ZIP, streamed). 200 with what was done and which ids failed (``asset_not_found``: not the
    caller's, or not in the state the action needs); with more than 100 ids, 202 and a job
    (``Location: /v1/jobs/{id}``, whose result is this answer)."""
    if given.action is BulkAction.DOWNLOAD:
        return StreamingResponse(engine.library.download(principal, given.asset_ids), media_type="application/zip",
                                 headers={"Content-Disposition": 'attachment; filename="assets.zip"'})
    result = await engine.library.bulk.run(principal, given)
    if result.job_id:
        headers = {JOB_ID_HEADER: result.job_id, "Location": f"/v1/jobs/{result.job_id}"}
        return json_model(result, status_code=202, headers=headers)
    return json_model(result)


@assets.post("/{asset_id}/restore", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def restore_asset(asset_id: str, engine: EngineDep, principal: PrincipalDep) -> Asset:
    """Bring a trashed asset back (404 when it is not in the trash)."""
    return await engine.library.trash.restore_one(principal, asset_id)


@assets.post("/{asset_id}/tags", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def add_tags(asset_id: str, given: TagsAdd, engine: EngineDep, principal: PrincipalDep) -> Asset:
    """Add tags (ones already there, in any case, are kept once); the others stay. The index follows."""
    return await engine.library.tags.add_one(principal, asset_id, given.tags)


@assets.delete("/{asset_id}/tags/{tag}", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def remove_tag(asset_id: str, tag: str, engine: EngineDep, principal: PrincipalDep) -> Asset:
    """Remove one tag (compared without case); removing a tag it does not carry changes nothing."""
    return await engine.library.tags.remove_one(principal, asset_id, tag)


@assets.put("/{asset_id}/file", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def replace_file(asset_id: str, request: Request, engine: EngineDep, principal: PrincipalDep) -> Asset:
    """Replace the asset's file (multipart ``file``): the file it had is kept as a version. Thumbnail,
    renders, analyses and the search index follow the new file (``status`` is ``processing`` while analyses
    run). The same checks as an upload apply (allowed types, size and pixel limits)."""
    upload = await multipart_file(request, engine)
    assert upload.staged is not None
    return await engine.library.versions.replace(principal, asset_id, upload.staged, clean_filename(upload.filename))


@assets.get("/{asset_id}/versions", response_model=VersionList)
@needs(Scope.ASSETS_READ)
async def list_versions(asset_id: str, engine: EngineDep, principal: PrincipalDep) -> VersionList:
    """Every version of the asset's file, newest first; ``current`` marks the one it has now."""
    return await engine.library.versions.list(principal, asset_id)


@assets.post("/{asset_id}/versions/{version}/restore", response_model=Asset)
@needs(Scope.ASSETS_WRITE)
async def restore_version(asset_id: str, version: Annotated[int, Path(ge=1)], engine: EngineDep,
                          principal: PrincipalDep) -> Asset:
    """Make an earlier version's file current again; it becomes a new version, and the one the asset had is
    kept (history is never rewritten)."""
    return await engine.library.versions.restore(principal, asset_id, version)


@assets.get("/{asset_id}/similar", response_model=SimilarList)
@needs(Scope.ASSETS_READ)
async def similar_assets(
    asset_id: str, engine: EngineDep, principal: PrincipalDep,
    by: SimilarBy = SimilarBy.PHASH,
    max_distance: Annotated[int, Query(ge=0, le=64, description="Most differing bits of the 64-bit hash.")] = 10,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SimilarList:
    """Near-duplicates: the caller's other assets whose stored perceptual hash is close, nearest first."""
    return await engine.library.similar.similar(principal, asset_id, by=by, max_distance=max_distance, limit=limit)
