"""A scrape's files as one ZIP, streamed: each original is read in chunks and written as a stored (not
re-compressed) member, so memory stays at a chunk whatever the number or size of the files."""

from __future__ import annotations

import time
import zipfile
from collections.abc import AsyncIterator, Callable

from engine.assets.service import Content


class _Pipe:
    """The unseekable file zipfile writes to: what it wrote waits here until the stream takes it."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data, self.pending = b"".join(self.pending), []
        return data


def member_names(contents: list[Content]) -> list[str]:
    """Each file's name in the archive, made unique ('cat.jpg', '2-cat.jpg', ...)."""
    used: set[str] = set()
    names = []
    for index, content in enumerate(contents, start=1):
        name = content.filename.replace("/", "_") or content.asset_id
        if name in used:
            name = f"{index}-{name}"
        used.add(name)
        names.append(name)
    return names


async def zip_stream(contents: list[Content], read: Callable[[Content], AsyncIterator[bytes]]) -> AsyncIterator[bytes]:
    pipe = _Pipe()
    stamp = time.gmtime()[:6]
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:  # type: ignore[arg-type]
        for content, name in zip(contents, member_names(contents)):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, mode="w", force_zip64=content.size >= 2**31) as member:
                async for chunk in read(content):
                    member.write(chunk)
                    if data := pipe.take():
                        yield data
            if data := pipe.take():
                yield data
    if data := pipe.take():
        yield data
