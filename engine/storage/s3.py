"""S3-compatible blob store (AWS S3, MinIO, R2): boto3 calls run in worker threads.

An S3 object becomes visible only when its upload completes, so readers never see partial blobs.
"""

from __future__ import annotations

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

    async def abort_multipart(self, key: str, multipart_id: str) -> None:
        def abort() -> None:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(key), UploadId=multipart_id)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise

        await anyio.to_thread.run_sync(abort)

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
