"""S3 spool: an upload's bytes become S3 multipart parts as they arrive.

S3 parts must be at least 5 MiB (all but the last), while TUS chunks may be any size, so a chunk is first
appended to a local tail file; once the tail reaches the part size it is shipped as the next part. The
catalog row keeps the multipart id, the part ETags and how many bytes the parts hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from engine.storage.s3 import S3BlobStore
from engine.uploads.checksum import ChunkDigests
from engine.uploads.spool import ChunkWriter, KeepAlive, Spool, SpoolState, fit


def _object_key(upload_id: str) -> str:
    return f"uploads/{upload_id}"


class S3Spool(Spool):
    def __init__(self, root: Path, max_bytes: int, store: S3BlobStore, part_bytes: int):
        super().__init__(root, max_bytes)
        self.store = store
        self.part_bytes = part_bytes

    def tail(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.tail"

    async def write(
        self, upload_id: str, state: SpoolState, start: int, chunks: AsyncIterator[bytes], *,
        limit: int, digests: ChunkDigests, keepalive: KeepAlive,
    ) -> tuple[int, SpoolState]:
        shipped = int(state.get("shipped", 0))
        writer = ChunkWriter(self.tail(upload_id), start - shipped, digests, limit, self.max_bytes)
        written = await writer.run(chunks, keepalive)
        if start + written - shipped >= self.part_bytes:
            state = await self._ship(upload_id, state, start + written - shipped)
        return written, state

    async def _ship(self, upload_id: str, state: SpoolState, tail_size: int) -> SpoolState:
        key = _object_key(upload_id)
        multipart_id = state.get("multipart_id") or await self.store.start_multipart(key)
        etags = list(state.get("etags", []))
        etags.append(await self.store.upload_part(key, multipart_id, len(etags) + 1, self.tail(upload_id)))
        self.tail(upload_id).unlink(missing_ok=True)
        return {"multipart_id": multipart_id, "etags": etags, "shipped": int(state.get("shipped", 0)) + tail_size}

    async def materialize(self, upload_id: str, state: SpoolState, size: int) -> Path:
        tail, target = self.tail(upload_id), self.path(upload_id)
        shipped = int(state.get("shipped", 0))
        fit(tail, upload_id, size - shipped)
        if not state.get("etags"):
            tail.replace(target)
            return target
        if size > shipped:
            state = await self._ship(upload_id, state, size - shipped)
        key = _object_key(upload_id)
        await self.store.complete_multipart(key, state["multipart_id"], state["etags"])
        with open(target, "wb") as out:
            async for chunk in self.store.read(key):
                out.write(chunk)
        await self.store.delete(key)
        return target

    async def discard(self, upload_id: str, state: SpoolState) -> None:
        if state.get("multipart_id"):
            await self.store.abort_multipart(_object_key(upload_id), state["multipart_id"])
        self.tail(upload_id).unlink(missing_ok=True)
        self.path(upload_id).unlink(missing_ok=True)
