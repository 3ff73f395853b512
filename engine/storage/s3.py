"""S3-compatible blob store (AWS S3, MinIO, R2): boto3 calls run in worker threads.

An S3 object becomes visible only when its upload completes, so readers never see partial blobs.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from engine.settings import StorageSettings
from engine.storage.base import READ_CHUNK, BlobStore, StoredBlob


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class _FileFrom(io.RawIOBase):
    """An open file from ``start`` to its end, seen as a file of its own: a retried request rewinds its body
    to position 0, which must be ``start``."""

    def __init__(self, handle: io.BufferedReader, start: int):
        super().__init__()
        self.handle, self.start = handle, start
        handle.seek(start)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.handle.read(size)

    def readinto(self, buffer: Any) -> int:
        return self.handle.readinto(buffer)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            offset += self.start
        return self.handle.seek(offset, whence) - self.start

    def tell(self) -> int:
        return self.handle.tell() - self.start


class S3BlobStore(BlobStore):
    name = "s3"

    def __init__(self, settings: StorageSettings, tmp_dir: Path):
        assert settings.s3_bucket
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix.strip("/")
        self.tmp_dir = tmp_dir
        tmp_dir.mkdir(parents=True, exist_ok=True)
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=32),
        )
        chunk = settings.s3_multipart_chunk_bytes
        self.transfer = TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk, max_concurrency=4)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put_file(self, key: str, path: Path) -> None:
        def upload() -> None:
            try:
                if not self._head(key):
                    self.client.upload_file(str(path), self.bucket, self._key(key), Config=self.transfer)
            finally:
                path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(upload)

    async def put_bytes(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        )

    async def put_file_from(self, key: str, path: Path, start: int) -> None:
        """Store the bytes of ``path`` from ``start`` to its end as ``key``; the file stays in place."""

        def upload() -> None:
            with open(path, "rb") as handle:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=_FileFrom(handle, start))

        await anyio.to_thread.run_sync(upload)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise

    async def size(self, key: str) -> int | None:
        head = await anyio.to_thread.run_sync(self._head, key)
        return None if head is None else int(head["ContentLength"])

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        byte_range = f"bytes={start}-{'' if end is None else end}"

        def open_body() -> Any:
            try:
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=byte_range)["Body"]
            except ClientError as error:
                if _missing(error):
                    raise FileNotFoundError(key) from error
                raise

        body = await anyio.to_thread.run_sync(open_body)
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)))

    async def delete_prefix(self, prefix: str) -> None:
        def delete_all() -> None:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for page in pages:  # a page holds at most 1,000 keys, as many as one delete_objects call takes
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

        await anyio.to_thread.run_sync(delete_all)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[StoredBlob]:
        pages = iter(self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix)))
        strip = len(self._key(""))
        while page := await anyio.to_thread.run_sync(next, pages, None):  # one request per page of 1,000
            for item in page.get("Contents", []):
                yield StoredBlob(item["Key"][strip:], int(item["Size"]), item["LastModified"])

    async def delete_keys(self, keys: list[str]) -> None:
        """Remove these blobs (missing ones are not an error), up to 1,000 per request."""

        def delete_all() -> None:
            for first in range(0, len(keys), 1000):
                batch = [{"Key": self._key(key)} for key in keys[first : first + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

        await anyio.to_thread.run_sync(delete_all)

    # -- multipart, for uploads that arrive in pieces over time (resumable uploads) ----------------

    async def start_multipart(self, key: str) -> str:
        created = await anyio.to_thread.run_sync(
            lambda: self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))
        )
        return str(created["UploadId"])

    async def upload_part(self, key: str, multipart_id: str, number: int, path: Path) -> str:
        def send() -> str:
            with open(path, "rb") as body:
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=self._key(key), UploadId=multipart_id, PartNumber=number, Body=body
                )
            return str(answer["ETag"])

        return await anyio.to_thread.run_sync(send)

    async def complete_multipart(self, key: str, multipart_id: str, etags: list[str]) -> None:
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
        await anyio.to_thread.run_sync(
            lambda: self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=multipart_id, MultipartUpload={"Parts": parts}
            )
        )

    def _abort(self, key: str, multipart_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(key), UploadId=multipart_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

    async def abort_multipart(self, key: str, multipart_id: str) -> None:
        await anyio.to_thread.run_sync(self._abort, key, multipart_id)

    async def abort_multiparts(self, key: str) -> None:
        """Abort every unfinished multipart upload of ``key``, also one a writer started and never recorded."""

        def abort_all() -> None:
            listing = self.client.get_paginator("list_multipart_uploads")
            for page in listing.paginate(Bucket=self.bucket, Prefix=self._key(key)):
                for upload in page.get("Uploads", []):
                    if upload["Key"] == self._key(key):
                        self._abort(key, upload["UploadId"])

        await anyio.to_thread.run_sync(abort_all)

    @asynccontextmanager
    async def local_path(self, key: str) -> AsyncIterator[Path]:
        target = self.tmp_dir / f"s3-{uuid.uuid4().hex}"

        def download() -> None:
            try:
                self.client.download_file(self.bucket, self._key(key), str(target), Config=self.transfer)
            except ClientError as error:
                if _missing(error):
                    raise FileNotFoundError(key) from error
                raise

        try:
            await anyio.to_thread.run_sync(download)
            yield target
        finally:
            target.unlink(missing_ok=True)
