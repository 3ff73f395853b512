"""Stream incoming bytes to a staging file, hashing and counting as they arrive.

Nothing is held in memory beyond one chunk; the byte limit is enforced while streaming, so an oversized
upload is refused without being stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from engine.errors import InvalidInput, TooLarge


@dataclass
class StagedFile:
    path: Path
    size: int
    sha256: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The file is larger than the maximum of {limit} bytes.", code="asset_file_too_large", max_bytes=limit
    )


async def stage(chunks: AsyncIterator[bytes], work_dir: Path, *, max_bytes: int) -> StagedFile:
    path = work_dir / f"staged-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    try:
        async with await anyio.open_file(path, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                digest.update(chunk)
                await handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise InvalidInput("The uploaded file has zero bytes.", code="asset_file_empty")
    return StagedFile(path=path, size=size, sha256=digest.hexdigest())
