"""The concatenation extension: a final upload is the partial uploads' bytes joined in order."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import anyio

from engine.errors import InvalidInput
from engine.uploads.models import ConcatKind, UploadStatus
from engine.uploads.records import Row


def check_parts(part_ids: list[str], rows: list[Row | None]) -> int:
    """The final upload's length; every part must be this account's finished partial upload."""
    if not part_ids:
        raise InvalidInput(
            "Upload-Concat: final needs the URLs of the partial uploads to join, separated by spaces.",
            code="upload_concat_invalid",
        )
    for upload_id, row in zip(part_ids, rows, strict=True):
        if row is None or row["concat"] != ConcatKind.PARTIAL.value:
            raise InvalidInput(
                f"{upload_id!r} is not a partial upload of this account; create parts with 'Upload-Concat: partial'.",
                code="upload_concat_invalid", upload_id=upload_id,
            )
        if row["status"] != UploadStatus.COMPLETE.value:
            raise InvalidInput(
                f"The partial upload {upload_id!r} has {row['offset']} of {row['length']} bytes; finish it before "
                "joining it.", code="upload_concat_unfinished", upload_id=upload_id,
            )
    return sum(int(row["length"]) for row in rows if row is not None)


async def join_files(sources: list[Path], target: Path) -> Any:
    """Write ``sources`` one after the other into ``target``; returns the SHA-256 of the result."""

    def join() -> Any:
        digest = hashlib.sha256()
        with open(target, "wb") as out:
            for source in sources:
                with open(source, "rb") as handle:
                    while block := handle.read(4 * 1024 * 1024):
                        digest.update(block)
                        out.write(block)
        return digest

    return await anyio.to_thread.run_sync(join)


async def file_sha256(path: Path) -> str:
    def digest() -> str:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    return await anyio.to_thread.run_sync(digest)


__all__ = ["check_parts", "file_sha256", "join_files"]
