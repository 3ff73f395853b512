"""Upload-Metadata pairs -> the filename and the same ingest options ``POST /v1/assets`` accepts."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.assets.models import IngestOptions
from engine.errors import InvalidInput
from engine.ingest.service import clean_filename

FILENAME_KEYS = ("filename", "name")
TYPE_KEYS = ("filetype", "type", "content_type", "contentType")
JSON_KEYS = ("config", "metadata")
OPTION_KEYS = "filename, filetype, tags, config (JSON), metadata (JSON), description, alt_text, is_public"


class UploadMetadata(BaseModel):
    filename: str
    content_type: str | None = None
    options: IngestOptions


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(f"Upload-Metadata: {message} Known keys: {OPTION_KEYS}.", code="upload_metadata_invalid")


def _json(key: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise _invalid(f"'{key}' must be JSON ({error.msg}).") from error


def _tags(raw: str) -> Any:
    if raw.strip().startswith("["):
        return _json("tags", raw)
    return [tag.strip() for tag in raw.split(",") if tag.strip()]


def _bool(key: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise _invalid(f"'{key}' must be true or false, got {raw!r}.")


def _first(pairs: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((pairs[key] for key in keys if pairs.get(key)), None)


def parse_metadata(pairs: dict[str, str]) -> UploadMetadata:
    """Unknown keys are ignored: browser uploaders add their own (``relativePath``, ...)."""
    fields: dict[str, Any] = {key: _json(key, pairs[key]) for key in JSON_KEYS if pairs.get(key)}
    if pairs.get("tags"):
        fields["tags"] = _tags(pairs["tags"])
    for key, target in (("description", "description"), ("alt_text", "alt_text"), ("altText", "alt_text")):
        if key in pairs:
            fields[target] = pairs[key]
    for key in ("is_public", "isPublic"):
        if key in pairs:
            fields["is_public"] = _bool(key, pairs[key])
    try:
        options = IngestOptions.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise _invalid(f"{problems}.") from error
    return UploadMetadata(
        filename=clean_filename(_first(pairs, FILENAME_KEYS)), content_type=_first(pairs, TYPE_KEYS), options=options
    )
