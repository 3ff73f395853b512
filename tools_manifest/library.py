"""The media library for agents: one tool that organises (trash, tags, folders, collections) and finds
look-alike images, so the default tool list stays small."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.auth.scopes import Scope
from engine.errors import InvalidInput
from engine.library.models import BULK_MAX, BulkAction, BulkRequest, CollectionCreate, FolderCreate
from tools_manifest.spec import Cost, Hints, ToolSpec

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal


class Organize(StrEnum):
    TRASH = "trash"
    RESTORE = "restore"
    PURGE = "purge"
    TAG = "tag"
    UNTAG = "untag"
    MOVE = "move"
    ADD_TO_COLLECTION = "add_to_collection"
    REMOVE_FROM_COLLECTION = "remove_from_collection"
    NEW_FOLDER = "new_folder"
    NEW_COLLECTION = "new_collection"
    FOLDERS = "folders"
    COLLECTIONS = "collections"
    DUPLICATES = "duplicates"


BULK = {Organize.TRASH, Organize.RESTORE, Organize.PURGE, Organize.TAG, Organize.UNTAG, Organize.MOVE,
        Organize.ADD_TO_COLLECTION}


class OrganizeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Organize
    ids: list[Annotated[str, Field(max_length=80)]] = Field(default_factory=list, max_length=BULK_MAX,
                                                            description="Asset ids.")
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)
    folder_id: str | None = Field(default=None, max_length=40, description="Target or parent; 'root' = top.")
    collection_id: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)
    confirm: bool = Field(default=False, description="Must be true to purge.")


class OrganizeOutput(BaseModel):
    action: Organize
    done: int = 0
    failed: list[dict[str, str]] = Field(default_factory=list)
    job_id: str | None = Field(default=None, description="Over 100 ids: a job (wait_job).")
    items: list[dict[str, Any]] = Field(default_factory=list, description="Listed or created folders/collections.")
    groups: list[list[str]] = Field(default_factory=list, description="duplicates: ids that look alike.")


async def organize_assets(engine: Engine, principal: Principal, given: OrganizeInput) -> OrganizeOutput:
    library, action = engine.library, given.action
    if action is Organize.PURGE and not given.confirm:
        raise InvalidInput("purge deletes for good; call again with confirm: true (or use trash).",
                           code="confirmation_required")
    if action in BULK:
        if not given.ids:
            raise InvalidInput(f"{action.value} needs ids.", code="organize_ids_required")
        request = BulkRequest(action=BulkAction(action.value), asset_ids=given.ids, tags=given.tags or None,
                              folder_id=given.folder_id, collection_id=given.collection_id)
        result = await library.bulk.run(principal, request)
        return OrganizeOutput(action=action, done=result.done, job_id=result.job_id,
                              failed=[f.model_dump() for f in result.failed])
    if action is Organize.REMOVE_FROM_COLLECTION:
        for asset_id in given.ids:
            await library.collections.remove(principal, given.collection_id or "", asset_id)
        return OrganizeOutput(action=action, done=len(given.ids))
    if action in (Organize.NEW_FOLDER, Organize.NEW_COLLECTION):
        if not given.name:
            raise InvalidInput(f"{action.value} needs a name.", code="organize_name_required")
        made: BaseModel = (await library.folders.create(principal, FolderCreate(name=given.name, parent_id=given.folder_id))
                           if action is Organize.NEW_FOLDER else
                           await library.collections.create(principal, CollectionCreate(name=given.name)))
        return OrganizeOutput(action=action, done=1, items=[made.model_dump(mode="json", exclude={"created_at",
                                                                                                "updated_at"})])
    if action is Organize.DUPLICATES:
        groups = await library.similar.duplicate_groups(principal)
        wanted = set(given.ids)
        return OrganizeOutput(action=action, groups=[g for g in groups if not wanted or wanted & set(g)])
    listing = (await library.folders.list(principal) if action is Organize.FOLDERS
               else await library.collections.list(principal))
    return OrganizeOutput(action=action, items=[item.model_dump(mode="json", exclude={"created_at", "updated_at"})
                                                for item in listing.items])


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="organize_assets",
        scope=Scope.ASSETS_WRITE,
        action="organize",
        title="Organise assets",
        description=(
            "Organise the library. action: trash, restore, purge (for good; confirm), tag/untag (tags), move "
            "(folder_id), add_to_collection/remove_from_collection (collection_id), new_folder/new_collection "
            "(name; folder_id = parent), folders/collections (list), duplicates (look-alike groups)."
        ),
        example={"action": "tag", "ids": ["as_2x9Kq"], "tags": ["invoices"]},
        input=OrganizeInput,
        output=OrganizeOutput,
        hints=Hints(read_only=False, destructive=True, idempotent=True, open_world=False),
        cost=Cost(note="free"),
        run=organize_assets,
    ),
]
