"""S3 settings against moto's server (a real HTTP S3 endpoint on 127.0.0.1), one fresh bucket each."""

from __future__ import annotations

import uuid

import boto3

from engine.settings import StorageBackend, StorageSettings


def s3_settings(endpoint: str, prefix: str = "picsha") -> StorageSettings:
    bucket = f"bucket-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return StorageSettings(
        backend=StorageBackend.S3, s3_bucket=bucket, s3_prefix=prefix, s3_endpoint_url=endpoint,
        s3_access_key_id="testing", s3_secret_access_key="testing", s3_multipart_chunk_bytes=5 * 1024 * 1024,
    )
