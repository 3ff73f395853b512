"""The media library's contracts (folders, collections, trash, versions, bulk work, share links), shared by
REST and MCP."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_TAGS = 100  # on one asset, as PATCH allows
BULK_MAX = 1000

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def _hex_colour(value: str) -> str:
    found = HEX.match(value.strip())
    if not found:
        raise ValueError("a colour is a hex RGB value such as #3b82f6 or 3b82f6")
    digits = found.group(1)
    return "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits)).lower()


HexColour = Annotated[str, AfterValidator(_hex_colour)]


# -- folders ----------------------------------------------------------------------------------------

class Folder(BaseModel):
    id: str
    name: str
    parent_id: str | None = Field(description="Its parent folder; none: at the top level.")
    path: str = Field(description="Names from the top level down, joined by '/'.")
    asset_count: int = Field(description="Assets directly in it (not in its sub-folders, not trashed).")
    created_at: datetime


class FolderList(BaseModel):
    items: list[Folder]


class FolderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    parent_id: str | None = None


class FolderPatch(BaseModel):
    """Only fields present change; ``parent_id: null`` moves it to the top level."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    parent_id: str | None = None


# -- collections ------------------------------------------------------------------------------------

class Collection(BaseModel):
    id: str
    name: str
    description: str | None = None
    asset_count: int
    cover_asset_id: str | None = Field(description="Its first asset, whose thumbnail stands for it.")
    created_at: datetime
    updated_at: datetime


class CollectionDetail(Collection):
    asset_ids: list[str] = Field(description="Its assets in order (trashed ones left out).")


class CollectionList(BaseModel):
    items: list[Collection]


class CollectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str | None = Field(default=None, max_length=1000)


class CollectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=1000)


class CollectionAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_ids: list[str] = Field(min_length=1, max_length=BULK_MAX)
    position: int | None = Field(
        default=None, ge=0, description="Insert before the asset at this 0-based position; none: at the end.")


# -- tags ---------------------------------------------------------------------------------------------

class TagsAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] = Field(min_length=1, max_length=MAX_TAGS)


# -- library filters ------------------------------------------------------------------------------------

ROOT = "root"  # folder_id=root: the assets at the top level, in no folder


class LibraryFilter(BaseModel):
    """Narrowing a list of assets by what the library knows of them."""

    model_config = ConfigDict(extra="forbid")

    folder_id: str | None = Field(default=None, description="Assets directly in this folder; 'root': in none.")
    collection_id: str | None = Field(default=None, description="Assets in this collection.")
    color: HexColour | None = Field(default=None, description="Assets with this colour in their palette (hex).")
    color_distance: float = Field(
        default=20.0, gt=0, le=100, description="How far (CIE76 delta E; ~2.3 is just noticeable) a palette colour "
        "may be from `color` and still match.")

    def narrows(self) -> bool:
        return bool(self.folder_id or self.collection_id or self.color)


# -- versions -----------------------------------------------------------------------------------------

class Version(BaseModel):
    version: int
    size: int
    mime_type: str
    format: str
    width: int | None = None
    height: int | None = None
    sha256: str
    filename: str
    created_at: datetime
    current: bool


class VersionList(BaseModel):
    items: list[Version]


# -- similar -----------------------------------------------------------------------------------------

class SimilarBy(StrEnum):
    PHASH = "phash"


class SimilarAsset(BaseModel):
    id: str
    distance: int = Field(description="Bits that differ between the two perceptual hashes (0: the same picture).")
    filename: str
    thumbnail: str | None = None


class SimilarList(BaseModel):
    asset_id: str
    by: SimilarBy
    items: list[SimilarAsset]


# -- bulk work ----------------------------------------------------------------------------------------

class BulkAction(StrEnum):
    TAG = "tag"
    UNTAG = "untag"
    MOVE = "move"
    ADD_TO_COLLECTION = "add_to_collection"
    TRASH = "trash"
    RESTORE = "restore"
    PURGE = "purge"
    DOWNLOAD = "download"


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: BulkAction
    asset_ids: list[str] = Field(min_length=1, max_length=BULK_MAX)
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS, description="For tag and untag.")
    folder_id: str | None = Field(default=None, description="For move: the folder ('root' or none: the top level).")
    collection_id: str | None = Field(default=None, description="For add_to_collection.")


class BulkFailure(BaseModel):
    id: str
    code: str


class BulkResult(BaseModel):
    action: BulkAction
    done: int
    failed: list[BulkFailure] = Field(default_factory=list)
    job_id: str | None = Field(default=None, description="When it runs as a job: GET /v1/jobs/{id}.")


# -- share links --------------------------------------------------------------------------------------

class ShareTarget(StrEnum):
    ASSET = "asset"
    COLLECTION = "collection"


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: ShareTarget
    target_id: str = Field(min_length=1, max_length=40)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="None: it does not expire.")
    password: str | None = Field(default=None, min_length=4, max_length=200)


class Share(BaseModel):
    id: str
    target_type: ShareTarget
    target_id: str
    url: str = Field(description="The public page; anyone with it sees the shared images until it expires.")
    expires_at: datetime | None
    has_password: bool
    created_at: datetime


class ShareList(BaseModel):
    items: list[Share]
