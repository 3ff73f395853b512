"""Reading an upload from any of its request shapes: multipart, JSON (url or base64) or a raw body."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import anyio
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine import Engine
from engine.assets import Asset, IngestConfig, IngestOptions
from engine.assets.models import OnDuplicate
from engine.auth import Principal
from engine.errors import InvalidInput
from engine.ingest.service import clean_filename
from engine.ingest.staging import too_large
from picsha_mcp.rest.body_cap import check_declared, declared_length, read_capped
from picsha_mcp.rest.errors import validation_error
from picsha_mcp.rest.json_text import parse_json
from picsha_mcp.rest.multipart_upload import MultipartUpload, read_multipart
from tools_manifest.schema import self_contained

MULTIPART_OVERHEAD = 64 * 1024


class JsonIngest(BaseModel):
    """``POST /v1/assets`` with a JSON body: exactly one of ``url`` or ``base64``."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=8192)
    base64: str | None = None
    filename: str | None = Field(default=None, max_length=512)
    config: IngestConfig = Field(default_factory=IngestConfig)
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    alt_text: str | None = None
    is_public: bool = False
    wait: bool = False
    on_duplicate: OnDuplicate = OnDuplicate.KEEP


def _options(**fields: Any) -> IngestOptions:
    try:
        return IngestOptions.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        raise validation_error(error) from error


def _json_field(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    return parse_json(raw, what=f"The field {name!r}", code="invalid_request")


def _tags_field(raw: str | None) -> list[str] | None:
    if raw is None or raw.strip() == "":
        return None
    if raw.strip().startswith("["):
        return _json_field(raw, "tags")
    return [tag.strip() for tag in raw.split(",") if tag.strip()]


def _bool_field(raw: str | None) -> bool | None:
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise InvalidInput(f"Expected true or false, got {raw!r}.", code="invalid_request")


def _check_length(request: Request, engine: Engine, overhead: int = 0) -> None:
    declared = declared_length(request.headers)
    limit = engine.settings.ingest.max_bytes
    if declared is not None and declared > limit + overhead:
        raise too_large(limit)


async def multipart_file(request: Request, engine: Engine) -> MultipartUpload:
    """A form's staged 'file' part (and its other fields), under the upload size limit; 400 without one."""
    _check_length(request, engine, MULTIPART_OVERHEAD)
    upload = await read_multipart(request, engine.ingest.staging_writer())
    if upload.staged is None:
        raise InvalidInput("The form has no 'file' field with a file in it.", code="asset_file_required")
    return upload


async def _multipart(request: Request, engine: Engine, principal: Principal) -> tuple[Asset, bool]:
    upload = await multipart_file(request, engine)
    assert upload.staged is not None
    text = upload.fields
    try:
        options = _options(
            config=_json_field(text.get("config"), "config"), tags=_tags_field(text.get("tags")),
            metadata=_json_field(text.get("metadata"), "metadata"), description=text.get("description"),
            alt_text=text.get("alt_text") or text.get("altText"),
            is_public=_bool_field(text.get("is_public") or text.get("isPublic")), wait=_bool_field(text.get("wait")),
            on_duplicate=text.get("on_duplicate"),
        )
    except BaseException:
        upload.staged.discard()
        raise
    filename = clean_filename(upload.filename)
    return await engine.ingest.from_staged(principal, upload.staged, filename, options), options.wait


def _json_body(raw: bytes) -> JsonIngest:
    try:
        return JsonIngest.model_validate_json(raw)
    except ValidationError as error:
        raise validation_error(error) from error


async def _json(request: Request, engine: Engine, principal: Principal) -> tuple[Asset, bool]:
    """A JSON body is parsed whole, so it is read under its own small cap, and parsed off the event loop."""
    limit = engine.settings.ingest.max_json_bytes
    check_declared(request.headers, limit)
    body = await anyio.to_thread.run_sync(_json_body, await read_capped(request.stream(), limit))
    if (body.url is None) == (body.base64 is None):
        raise InvalidInput(
            "Send exactly one of 'url' or 'base64' (with 'filename') in the JSON body.", code="asset_file_required"
        )
    options = _options(**body.model_dump(exclude={"url", "base64", "filename"}))
    if body.url is not None:
        return await engine.ingest.from_url(principal, body.url, options), options.wait
    return await engine.ingest.from_base64(principal, body.base64 or "", body.filename, options), options.wait


def _raw_filename(request: Request) -> str | None:
    if name := request.headers.get("x-filename"):
        return unquote(name)
    disposition = request.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() in ("filename", "filename*") and value:
            return unquote(value.strip('"').removeprefix("UTF-8''"))
    return None


async def _raw(request: Request, engine: Engine, principal: Principal) -> tuple[Asset, bool]:
    _check_length(request, engine)
    query = request.query_params
    options = _options(
        tags=_tags_field(query.get("tags")), description=query.get("description"), alt_text=query.get("alt_text"),
        is_public=_bool_field(query.get("is_public")), wait=_bool_field(query.get("wait")),
        config=_json_field(query.get("config"), "config"), metadata=_json_field(query.get("metadata"), "metadata"),
        on_duplicate=query.get("on_duplicate"),
    )
    return await engine.ingest.from_stream(principal, _raw_filename(request), request.stream(), options), options.wait


async def ingest_request(request: Request, engine: Engine, principal: Principal) -> tuple[Asset, bool]:
    """Dispatch on the request's Content-Type (the body's own type is still sniffed from its bytes)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _multipart(request, engine, principal)
    if content_type == "application/json":
        return await _json(request, engine, principal)
    if content_type in ("", "application/x-www-form-urlencoded"):
        raise InvalidInput(
            "Send the file as multipart/form-data (field 'file'), as JSON with 'url' or 'base64', or as a raw "
            "body with Content-Type: application/octet-stream and an X-Filename header.",
            code="asset_file_required",
        )
    return await _raw(request, engine, principal)


INGEST_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "config": {"type": "string", "description": "JSON object of ingest flags"},
                        "tags": {"type": "string", "description": "JSON array or comma-separated"},
                        "metadata": {"type": "string", "description": "JSON object"},
                        "description": {"type": "string", "maxLength": 1000},
                        "alt_text": {"type": "string", "maxLength": 1000},
                        "is_public": {"type": "boolean"},
                        "wait": {"type": "boolean"},
                        "on_duplicate": {"type": "string", "enum": ["keep", "reuse"]},
                    },
                }
            },
            "application/json": {"schema": self_contained(JsonIngest.model_json_schema())},
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"},
                "description": "Raw bytes; filename in the X-Filename header, options as query parameters.",
            },
        },
    }
}
