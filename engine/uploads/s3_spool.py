"""S3 spool: an upload's bytes become S3 multipart parts as they arrive, readable from every server.

S3 parts must be at least 5 MiB (all but the last), while TUS chunks may be any size, so a chunk is first
appended to a local tail file; once the tail reaches the part size it is shipped as the next part. The
catalog row keeps the multipart id, the part ETags and how many bytes the parts hold.

Behind a load balancer the next PATCH may reach a server that has no copy of the tail. So the bytes a
chunk leaves in the tail are also stored as an S3 object of their own (a piece, under a key used once),
and the row lists the pieces. Each write takes a fresh token, kept in the row and beside the local tail:
a server holding the row's token wrote the last bytes and uses its tail as it is; any other server first
rebuilds the tail from the pieces. Pieces are deleted once a part holds their bytes, by the next write,
after the row no longer names them: at any crash the row names only objects that hold its bytes.

A chunk that ends an upload ingested by the same request is not stored as a piece (a small upload costs
no extra S3 write); if the server dies before that ingest, a retry elsewhere fails the upload cleanly.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from engine.storage.s3 import S3BlobStore
from engine.uploads.checksum import ChunkDigests
from engine.uploads.spool import ChunkWriter, Lease, Spool, SpoolState, bytes_missing, fit


def _object_key(upload_id: str) -> str:
    return f"uploads/{upload_id}"


def _pieces_prefix(upload_id: str) -> str:
    return f"uploads/{upload_id}.tail/"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


class S3Spool(Spool):
    def __init__(self, root: Path, max_bytes: int, store: S3BlobStore, part_bytes: int):
        super().__init__(root, max_bytes)
        self.store = store
        self.part_bytes = part_bytes

    def tail(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.tail"

    def _token_file(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.tail.token"

    def _local_token(self, upload_id: str) -> str | None:
        try:
            return self._token_file(upload_id).read_text()
        except FileNotFoundError:
            return None

    async def write(
        self, upload_id: str, state: SpoolState, start: int, chunks: AsyncIterator[bytes], *,
        limit: int, digests: ChunkDigests, lease: Lease, ingest_at: int | None = None,
    ) -> tuple[int, SpoolState]:
        state = await self._drop_stale(state)
        at = start - int(state.get("shipped", 0))  # where this chunk starts in the tail
        await self._hold(upload_id, state, at)
        written = await ChunkWriter(self.tail(upload_id), at, digests, limit, self.max_bytes).run(chunks, lease)
        await lease.hold()  # a part or a piece in S3 is written under the lease too
        size = at + written
        ingested = ingest_at is not None and start + written == ingest_at
        if size >= self.part_bytes or (ingested and size and state.get("etags")):  # a full part, or the last
            return written, await self._ship(upload_id, state, size)
        if written == 0:
            return written, state
        return written, await self._keep(upload_id, state, at, written, shared=not ingested)

    async def _hold(self, upload_id: str, state: SpoolState, size: int) -> None:
        """Make the local tail start with the ``size`` bytes the row says it has, fetching them when another
        server wrote the last of them."""
        if size == 0 or "token" not in state:  # nothing to hold, or a tail kept on this server only
            return
        if self._local_token(upload_id) == state["token"] and _size(self.tail(upload_id)) >= size:
            return
        await self._fetch(upload_id, state, size)

    async def _fetch(self, upload_id: str, state: SpoolState, size: int) -> None:
        pieces = state.get("pieces", [])
        if sum(length for _key, length in pieces) != size:
            raise bytes_missing(upload_id)
        partial = self.root / f"{upload_id}.tail.{uuid.uuid4().hex}.part"
        try:
            async with await anyio.open_file(partial, "wb") as out:
                for key, length in pieces:
                    got = 0
                    async for chunk in self.store.read(key):
                        got += len(chunk)
                        await out.write(chunk)
                    if got != length:
                        raise bytes_missing(upload_id)
            partial.replace(self.tail(upload_id))
        except FileNotFoundError as error:  # a piece is gone: the upload cannot go on
            raise bytes_missing(upload_id) from error
        finally:
            partial.unlink(missing_ok=True)
        self._token_file(upload_id).write_text(state["token"])

    async def _keep(self, upload_id: str, state: SpoolState, at: int, written: int, *, shared: bool) -> SpoolState:
        """Record a chunk that stays in the tail: a new token and, for other servers, its bytes as a piece."""
        token = uuid.uuid4().hex
        pieces = list(state.get("pieces", []))
        if shared:
            key = f"{_pieces_prefix(upload_id)}{token}"
            await self.store.put_file_from(key, self.tail(upload_id), at)
            pieces.append([key, written])
        # After the piece: if that fails, this server's token still matches the row and its tail stays usable.
        self._token_file(upload_id).write_text(token)
        return state | {"pieces": pieces, "token": token}

    async def _drop_stale(self, state: SpoolState) -> SpoolState:
        """Delete the pieces a part holds: the row that named them as the tail was replaced by then."""
        if not state.get("stale"):
            return state
        await self.store.delete_keys(state["stale"])
        return {key: value for key, value in state.items() if key != "stale"}

    async def _ship(self, upload_id: str, state: SpoolState, tail_size: int) -> SpoolState:
        key = _object_key(upload_id)
        multipart_id = state.get("multipart_id") or await self.store.start_multipart(key)
        etags = list(state.get("etags", []))
        etags.append(await self.store.upload_part(key, multipart_id, len(etags) + 1, self.tail(upload_id)))
        self.tail(upload_id).unlink(missing_ok=True)
        stale = [*state.get("stale", []), *(piece for piece, _length in state.get("pieces", []))]
        return {
            "multipart_id": multipart_id, "etags": etags, "shipped": int(state.get("shipped", 0)) + tail_size,
            "stale": stale,
        }

    async def materialize(self, upload_id: str, state: SpoolState, size: int) -> Path:
        tail, target = self.tail(upload_id), self.path(upload_id)
        shipped = int(state.get("shipped", 0))
        await self._hold(upload_id, state, size - shipped)
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
        if state.get("multipart_id") or state.get("pieces") or state.get("stale"):
            # also a multipart upload or a piece of a writer that died before its row update
            await self.store.abort_multiparts(_object_key(upload_id))
            await self.store.delete_prefix(_pieces_prefix(upload_id))
        for path in (self.tail(upload_id), self._token_file(upload_id), self.path(upload_id)):
            path.unlink(missing_ok=True)

    async def prune(self, idle_s: float) -> int:
        """Remove local tails idle for ``idle_s``: their upload expired, or went on on another server, which
        works from the pieces."""

        def prune() -> int:
            removed, before = 0, time.time() - idle_s
            with os.scandir(self.root) as entries:
                for entry in entries:
                    try:
                        if ".tail" in entry.name and entry.stat().st_mtime < before:
                            os.unlink(entry.path)
                            removed += 1
                    except FileNotFoundError:  # removed meanwhile (the upload finished)
                        continue
            return removed

        return await anyio.to_thread.run_sync(prune)
