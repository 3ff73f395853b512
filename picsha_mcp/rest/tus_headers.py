"""Parsing the TUS request headers into engine values, with errors that say what is valid."""

from __future__ import annotations

import base64
import binascii
from email.utils import format_datetime

from fastapi import Request

from engine.errors import InvalidInput, PicshaError
from engine.numerals import ASCII_INTEGER, ascii_int
from engine.uploads.models import Checksum, ChecksumAlgorithm, ConcatKind, UploadCreate

TUS_VERSION = "1.0.0"
OCTET_STREAM = "application/offset+octet-stream"


def check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise PicshaError(
            f"Send 'Tus-Resumable: {TUS_VERSION}'; it is the only TUS version this server speaks.",
            code="tus_version_unsupported", status=412, supported=[TUS_VERSION],
        )


def _integer(request: Request, name: str, code: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    value = ascii_int(raw)
    if value is None:
        raise InvalidInput(f"{name} must be a non-negative integer in {ASCII_INTEGER}, got {raw!r}.", code=code)
    return value


def upload_length(request: Request) -> int | None:
    return _integer(request, "Upload-Length", "upload_length_invalid")


def upload_offset(request: Request) -> int:
    offset = _integer(request, "Upload-Offset", "upload_offset_invalid")
    if offset is None:
        raise InvalidInput("PATCH needs an Upload-Offset header (the number of bytes already sent).", code="upload_offset_invalid")
    return offset


def content_length(request: Request) -> int | None:
    return _integer(request, "Content-Length", "invalid_request")


def metadata(raw: str | None) -> dict[str, str]:
    """``key base64value,key2 base64value2`` (a key may have no value)."""
    pairs: dict[str, str] = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        key, _, value = item.strip().partition(" ")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as error:
            raise InvalidInput(
                f"Upload-Metadata value of {key!r} is not base64-encoded UTF-8; send 'key base64,key base64'.",
                code="upload_metadata_invalid",
            ) from error
    return pairs


def _upload_id(url: str) -> str:
    return url.strip().rstrip("/").rsplit("/", 1)[-1]


def creation(request: Request) -> UploadCreate:
    headers = request.headers
    concat_raw = headers.get("upload-concat", "").strip()
    concat, parts = None, []
    if concat_raw == "partial":
        concat = ConcatKind.PARTIAL
    elif concat_raw.startswith("final;"):
        concat, parts = ConcatKind.FINAL, [_upload_id(url) for url in concat_raw[6:].split() if url.strip()]
    elif concat_raw:
        raise InvalidInput("Upload-Concat is 'partial' or 'final;<url> <url> ...'.", code="upload_concat_invalid")
    length, deferred = upload_length(request), headers.get("upload-defer-length")
    if deferred is not None and deferred != "1":
        raise InvalidInput("Upload-Defer-Length can only be 1.", code="upload_length_invalid")
    if concat is not ConcatKind.FINAL and (length is None) == (deferred is None):
        raise InvalidInput(
            "Send exactly one of Upload-Length (the file's size in bytes) or Upload-Defer-Length: 1.",
            code="upload_length_invalid",
        )
    raw_metadata = headers.get("upload-metadata")
    return UploadCreate(
        length=None if concat is ConcatKind.FINAL else length, metadata=metadata(raw_metadata),
        metadata_header=raw_metadata, concat=concat, parts=parts,
    )


def checksum(request: Request) -> Checksum | None:
    raw = request.headers.get("upload-checksum")
    if raw is None:
        return None
    name, _, value = raw.strip().partition(" ")
    allowed = ", ".join(a.value for a in ChecksumAlgorithm)
    if name not in {a.value for a in ChecksumAlgorithm}:
        raise InvalidInput(f"Upload-Checksum algorithm {name!r} is not supported; use one of {allowed}.", code="upload_checksum_unsupported")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("Upload-Checksum is '<algorithm> <base64 digest>'.", code="upload_checksum_invalid") from error
    return Checksum(algorithm=ChecksumAlgorithm(name), digest=digest)


def http_date(value: object) -> str:
    return format_datetime(value, usegmt=True)  # type: ignore[arg-type]
