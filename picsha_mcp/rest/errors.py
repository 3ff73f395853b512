"""The one JSON error shape of the REST API: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import Busy, InvalidInput, PicshaError, invalid_fields

log = logging.getLogger("picsha.rest")

_FIELD_CODES = {"description": "asset_description_too_long", "alt_text": "asset_alt_text_too_long"}


def error_response(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    headers = {"Retry-After": str(details["retry_after"])} if "retry_after" in details else None
    return JSONResponse({"error": {"code": code, "message": message, **details}}, status_code=status, headers=headers)


def validation_error(error: ValidationError | RequestValidationError) -> InvalidInput:
    """Turn a pydantic error on request data into the API's own error (with a field-specific code)."""
    return invalid_fields(error.errors(), codes=_FIELD_CODES)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PicshaError)
    async def picsha_error(_request: Request, error: PicshaError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, **error.details)

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def invalid(_request: Request, error: ValidationError | RequestValidationError) -> JSONResponse:
        converted = validation_error(error)
        return error_response(converted.status, converted.code, converted.message, **converted.details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own 400 is a JSON body it could not parse
        codes = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return error_response(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")


__all__ = ["Busy", "error_response", "install_error_handlers", "validation_error"]
