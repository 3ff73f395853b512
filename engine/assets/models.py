"""The asset contract (the picsha spec's shape), shared by REST and MCP."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from engine.assets.taken import Moment

TEXT_FIELD_MAX = 1000
MAX_PAGE = 1_000_000


def _finite(value: Any) -> Any:
    """No NaN or infinity anywhere inside: JSON has none, and neither the catalog nor an answer can hold one."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers in metadata must be finite (no NaN or Infinity)")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_finite)]


class AssetStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class AssetType(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"
    TEXT = "text"


class AssetUrls(BaseModel):
    original: str = Field(description="Signed URL of the original bytes.")
    thumbnail: str | None = Field(default=None, description="Signed URL of a small WebP preview.")
    pdf_view: str | None = Field(default=None, description="Signed URL of the PDF rendition of a document.")


class AssetMeta(BaseModel):
    format: str
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    sha256: str
    exif: dict[str, Any] = Field(default_factory=dict)


class AssetAI(BaseModel):
    model_config = ConfigDict(extra="allow")

    summary: str | None = None
    caption: str | None = None
    tags: list[str] = Field(default_factory=list)
    faces: dict[str, Any] | None = None
    safe_search: str = "unknown"
    ocr_text: str | None = None


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    label: str | None = None


ANALYSIS_KEY = "analysis"  # the Analysis record is kept in the catalog's ai JSON under this key (never shown in ai)
WORDS_KEY = "words"  # the start of a document's own text, kept there for the search index (never shown in ai)
HIDDEN_AI_KEYS = (ANALYSIS_KEY, WORDS_KEY)


class Analysis(BaseModel):
    """What the analyses did with an asset, so an agent can tell whether waiting would bring more."""

    done: list[str] = Field(default_factory=list, description="Analyses that ran.")
    pending: list[str] = Field(default_factory=list, description="Analyses queued or running.")
    skipped: dict[str, str] = Field(default_factory=dict, description="Analysis -> why it did not run.")
    failed: dict[str, str] = Field(default_factory=dict, description="Analysis -> its error.")


class Asset(BaseModel):
    id: str
    status: AssetStatus
    type: AssetType
    filename: str
    created_at: datetime
    taken_at: datetime = Field(
        description="When it was taken or made: the EXIF capture time (with the camera's UTC offset when it wrote "
        "one, else read as UTC), else the file's own creation time (a PDF's or office file's, a local file's "
        "modification time), else the upload time. created_at is always the upload time."
    )
    updated_at: datetime
    urls: AssetUrls
    meta: AssetMeta
    ai: AssetAI
    location: Location | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    alt_text: str | None = None
    is_public: bool = False
    cost: str = Field(description="Sum of this asset's usage-ledger rows, in USD.")
    analysis: Analysis = Field(default_factory=Analysis)
    job_id: str | None = Field(
        default=None, description="In an upload's answer while analyses run: their job (GET /v1/jobs/{id}, wait_job)."
    )
    duplicate_of: str | None = Field(
        default=None, description="In an upload's answer: the account's earlier asset with the same bytes (sha256)."
    )
    folder_id: str | None = Field(default=None, description="Its folder; none: the top level.")
    version: int = Field(default=1, description="Its file's version.")
    trashed_at: datetime | None = Field(
        default=None, exclude_if=lambda moment: moment is None,  # only trashed assets carry it
        description="In the trash since.")


class IngestConfig(BaseModel):
    """Per-upload processing flags (picsha spec). ``None`` means: use the server's default."""

    model_config = ConfigDict(extra="forbid")

    auto_tag: bool | None = Field(default=None, description="Tags, colours, faces.")
    auto_summarize: bool | None = Field(default=None, description="Caption or summary.")
    vectorize: bool | None = Field(default=None, description="Embeddings for search by meaning.")
    location_lookup: bool | None = Field(default=None, description="Place name from GPS.")
    pre_render_sizes: bool | None = Field(default=None, description="Render web sizes now.")
    safe_search: bool | None = Field(default=None, description="Flag adult content.")
    ocr: bool | None = Field(default=None, description="Read text in images and scans.")


class OnDuplicate(StrEnum):
    """What an upload does when the account already holds the same bytes."""

    KEEP = "keep"  # store a second asset; the answer names the first in duplicate_of
    REUSE = "reuse"  # store nothing; answer with the existing asset


class IngestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: IngestConfig = Field(default_factory=IngestConfig)
    tags: list[str] = Field(default_factory=list, max_length=100)
    metadata: Metadata = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=TEXT_FIELD_MAX)
    alt_text: str | None = Field(default=None, max_length=TEXT_FIELD_MAX)
    is_public: bool = False
    wait: bool = False
    on_duplicate: OnDuplicate = OnDuplicate.KEEP


class AssetPatch(BaseModel):
    """Patch semantics: only fields present in the request change. ``null`` clears the description or the
    alt text; the other fields always have a value, so for them ``null`` is refused."""

    model_config = ConfigDict(extra="forbid")

    filename: Annotated[str, Field(min_length=1, max_length=512)] | SkipJsonSchema[None] = None
    description: str | None = Field(default=None, max_length=TEXT_FIELD_MAX)
    alt_text: str | None = Field(default=None, max_length=TEXT_FIELD_MAX)
    is_public: bool | SkipJsonSchema[None] = None
    tags: Annotated[list[str], Field(max_length=100)] | SkipJsonSchema[None] = None
    metadata: Metadata | SkipJsonSchema[None] = None

    @field_validator("filename", "is_public", "tags", "metadata")
    @classmethod
    def _given_means_a_value(cls, value: object, info: ValidationInfo) -> object:
        if value is None:  # only a value the client sent is validated, so this null was explicit
            raise ValueError(f"{info.field_name} cannot be null; give a value, or leave it out to keep the current one")
        return value


class SortField(StrEnum):
    CREATED_AT = "created_at"
    TAKEN_AT = "taken_at"
    SIZE = "size"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    page_size: int = Field(default=20, ge=1, le=100)
    q: str | None = Field(default=None, max_length=500)
    type: AssetType | None = None
    status: AssetStatus | None = None
    taken_after: Moment | None = Field(
        default=None, description="Taken (or made) on or after this ISO date or time, local time there.")
    taken_before: Moment | None = Field(
        default=None, description="Taken (or made) before this ISO date or time, local time there.")
    sort: SortField = Field(default=SortField.CREATED_AT, description="created_at is the upload time; taken_at when "
                            "it was taken or made. With q the order is relevance.")
    order: SortOrder = SortOrder.DESC


class AssetPage(BaseModel):
    items: list[Asset]
    total: int
    page: int
    page_size: int


class BatchDeleteResult(BaseModel):
    requested: int
    deleted: int
    not_found_ids: list[str]


class ContentTypeUsage(BaseModel):
    content_type: str
    count: int
    total_bytes: int


class SkillUsage(BaseModel):
    skill_name: str
    run_count: int


class UsageStats(BaseModel):
    total_assets: int
    total_bytes: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    total_derivatives: int = Field(default=0, description="Stored renditions: thumbnails, renders, PDF views.")
    derivative_bytes: int = 0
    by_content_type: list[ContentTypeUsage] = Field(default_factory=list, description="Most assets first.")
    most_active_skill: SkillUsage | None = Field(default=None, description="The analysis run most often; null: none ran.")
