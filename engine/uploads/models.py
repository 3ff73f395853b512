"""The resumable-upload contract shared by the TUS front door and the MCP tool."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class UploadStatus(StrEnum):
    UPLOADING = "uploading"
    COMPLETE = "complete"  # a partial upload with all its bytes, waiting to be joined by a final one
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


UNFINISHED = (UploadStatus.UPLOADING, UploadStatus.COMPLETE)


class ConcatKind(StrEnum):
    PARTIAL = "partial"
    FINAL = "final"


class ChecksumAlgorithm(StrEnum):
    SHA1 = "sha1"
    SHA256 = "sha256"
    MD5 = "md5"


class Checksum(BaseModel):
    """The client's digest of one chunk (``Upload-Checksum``): the chunk is discarded when it differs."""

    algorithm: ChecksumAlgorithm
    digest: bytes


class UploadCreate(BaseModel):
    length: int | None = Field(default=None, ge=0, description="None: deferred until a later PATCH.")
    metadata: dict[str, str] = Field(default_factory=dict, description="Decoded Upload-Metadata pairs.")
    metadata_header: str | None = Field(default=None, description="The raw Upload-Metadata, echoed by HEAD.")
    concat: ConcatKind | None = None
    parts: list[str] = Field(default_factory=list, description="Partial upload ids a final upload joins, in order.")


class UploadError(BaseModel):
    code: str
    message: str
    status: int
    details: dict[str, Any] = Field(default_factory=dict)


class Upload(BaseModel):
    """What ``GET /v1/upload/resumable/{id}`` answers."""

    id: str
    status: UploadStatus
    offset: int
    length: int | None
    filename: str | None = None
    concat: ConcatKind | None = None
    asset_id: str | None = None
    error: UploadError | None = None
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    metadata_header: str | None = Field(default=None, exclude=True)
    parts: list[str] | None = Field(default=None, exclude=True)
