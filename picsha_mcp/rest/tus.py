"""TUS 1.0 resumable uploads at ``/v1/upload/resumable`` (core, creation, creation-with-upload,
creation-defer-length, expiration, checksum, termination, concatenation), with CORS for browsers.

Every answer carries ``Tus-Resumable`` and the CORS headers, errors included, so the handlers catch the
engine's errors here rather than in the app-wide handler. Errors keep the API's JSON shape; TUS fixes
their status (409 offset, 412 version, 413 size, 415 content type, 460 checksum, 423 locked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from engine import Engine
from engine.auth import Principal
from engine.errors import PicshaError, UnsupportedMediaType
from engine.uploads.links import RESUMABLE_PATH, signed_account
from engine.uploads.models import ConcatKind, Upload, UploadStatus
from picsha_mcp.rest import tus_headers as th
from picsha_mcp.rest.deps import get_engine, get_principal
from picsha_mcp.rest.errors import error_response
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import Access, needs

PREFIX = RESUMABLE_PATH
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation"
CHECKSUMS = "sha1,sha256,md5"
ALLOW_METHODS = "POST, GET, HEAD, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "Authorization, Content-Type, Origin, X-Requested-With, X-HTTP-Method-Override, Tus-Resumable, Upload-Length, "
    "Upload-Offset, Upload-Metadata, Upload-Defer-Length, Upload-Concat, Upload-Checksum"
)
EXPOSE_HEADERS = (
    "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Offset, "
    "Upload-Length, Upload-Metadata, Upload-Defer-Length, Upload-Concat, Upload-Expires, Upload-Asset-Id"
)

router = APIRouter(prefix=PREFIX, tags=["uploads"])
Action = Callable[[Engine, Principal], Awaitable[Response]]


def _cors(request: Request, engine: Engine) -> dict[str, str]:
    origin, allowed = request.headers.get("origin"), engine.settings.uploads.cors_origins
    if origin is None or ("*" not in allowed and origin not in allowed):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSE_HEADERS, "Vary": "Origin"}


def _error(request: Request, error: PicshaError) -> Response:
    response: Response = error_response(error.status, error.code, error.message, **error.details)
    if request.method == "HEAD":  # a HEAD answer has no body
        response = Response(status_code=error.status, headers={"Cache-Control": "no-store"})
    if error.status == 412:
        response.headers["Tus-Version"] = th.TUS_VERSION
    return response


async def _handle(request: Request, action: Action, *, versioned: bool = True) -> Response:
    engine = get_engine(request)
    try:
        if versioned:
            th.check_version(request)
        principal = await _signed_principal(request, engine) or await get_principal(request, engine)
        response = await action(engine, principal)
    except PicshaError as error:
        response = _error(request, error)
    response.headers.update({"Tus-Resumable": th.TUS_VERSION, **_cors(request, engine)})
    return response


async def _signed_principal(request: Request, engine: Engine) -> Principal | None:
    """An upload URL signed for one account (``create_upload``) stands in for the key, for that upload only."""
    account_id = signed_account(engine.signer, request.url.path, dict(request.query_params))
    return Principal(account_id=account_id) if account_id else None


def _location(engine: Engine, upload_id: str) -> str:
    return f"{engine.settings.public_url.rstrip('/')}{PREFIX}/{upload_id}"


def _progress_headers(upload: Upload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.expires_at is not None and upload.status is UploadStatus.UPLOADING:
        headers["Upload-Expires"] = th.http_date(upload.expires_at)
    if upload.asset_id:
        headers["Upload-Asset-Id"] = upload.asset_id
    return headers


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a dropped connection ends it, and the bytes that came are kept."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        return


def _check_octet_stream(request: Request) -> None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != th.OCTET_STREAM:
        raise UnsupportedMediaType(
            f"A TUS PATCH body must be sent with 'Content-Type: {th.OCTET_STREAM}'.", code="upload_content_type_invalid"
        )


async def _append(request: Request, engine: Engine, principal: Principal, upload_id: str, offset: int) -> Upload:
    async with engine.admission.uploads.enter():  # full: 503 + Retry-After before a byte is read (the client resumes)
        return await engine.uploads.append(
            principal, upload_id, offset=offset, chunks=_body(request), length=th.upload_length(request),
            checksum=th.checksum(request), content_length=th.content_length(request),
        )


# -- routes --------------------------------------------------------------------------------------


@router.options("", include_in_schema=False)
@router.options("/{upload_id}", include_in_schema=False)
@needs(Access.PUBLIC)
async def options(request: Request) -> Response:
    engine = get_engine(request)
    headers = {
        "Tus-Resumable": th.TUS_VERSION, "Tus-Version": th.TUS_VERSION, "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(engine.uploads.max_bytes), "Tus-Checksum-Algorithm": CHECKSUMS,
    }
    if cors := _cors(request, engine):
        cors |= {"Access-Control-Allow-Methods": ALLOW_METHODS, "Access-Control-Allow-Headers": ALLOW_HEADERS,
                 "Access-Control-Max-Age": "86400"}
    return Response(status_code=204, headers=headers | cors)


@router.post("", status_code=201, summary="Create a resumable upload (TUS creation)")
@needs(Scope.ASSETS_WRITE)
async def create(request: Request) -> Response:
    async def action(engine: Engine, principal: Principal) -> Response:
        upload = await engine.uploads.create(principal, th.creation(request))
        location = {"Location": _location(engine, upload.id)}
        try:
            if upload.concat is ConcatKind.FINAL:
                upload = await engine.uploads.finish(principal, upload.id)
            elif request.headers.get("content-type", "").split(";")[0].strip().lower() == th.OCTET_STREAM:
                upload = await _append(request, engine, principal, upload.id, 0)
        except PicshaError as error:
            response = _error(request, error)
            response.headers.update(location)
            return response
        return Response(status_code=201, headers=location | _progress_headers(upload))

    return await _handle(request, action)


@router.head("/{upload_id}", include_in_schema=False)
@needs(Scope.ASSETS_WRITE)
async def head(request: Request, upload_id: str) -> Response:
    async def action(engine: Engine, principal: Principal) -> Response:
        upload = await engine.uploads.get(principal, upload_id)
        if upload.error is not None:  # all bytes arrived but the file was refused: not a finished upload
            raise PicshaError(upload.error.message, code=upload.error.code, status=upload.error.status)
        headers = _progress_headers(upload) | {"Cache-Control": "no-store"}
        headers |= {"Upload-Length": str(upload.length)} if upload.length is not None else {"Upload-Defer-Length": "1"}
        if upload.metadata_header:
            headers["Upload-Metadata"] = upload.metadata_header
        if upload.concat is ConcatKind.PARTIAL:
            headers["Upload-Concat"] = "partial"
        elif upload.concat is ConcatKind.FINAL:
            headers["Upload-Concat"] = "final;" + " ".join(f"{PREFIX}/{part}" for part in upload.parts or [])
        return Response(status_code=200, headers=headers)

    return await _handle(request, action)


@router.patch("/{upload_id}", status_code=204, summary="Append a chunk (TUS core)")
@needs(Scope.ASSETS_WRITE)
async def patch(request: Request, upload_id: str) -> Response:
    async def action(engine: Engine, principal: Principal) -> Response:
        _check_octet_stream(request)
        upload = await _append(request, engine, principal, upload_id, th.upload_offset(request))
        return Response(status_code=204, headers=_progress_headers(upload))

    return await _handle(request, action)


@router.delete("/{upload_id}", status_code=204, summary="Terminate an upload (TUS termination)")
@needs(Scope.ASSETS_WRITE)
async def delete(request: Request, upload_id: str) -> Response:
    async def action(engine: Engine, principal: Principal) -> Response:
        await engine.uploads.terminate(principal, upload_id)
        return Response(status_code=204)

    return await _handle(request, action)


@router.get("/{upload_id}", response_model=Upload, summary="An upload's progress, status, asset id and error")
@needs(Scope.ASSETS_WRITE)
async def status(request: Request, upload_id: str) -> Response:
    async def action(engine: Engine, principal: Principal) -> Response:
        upload = await engine.uploads.get(principal, upload_id)
        return JSONResponse(upload.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    return await _handle(request, action, versioned=False)


@router.post("/{upload_id}", include_in_schema=False)
@needs(Scope.ASSETS_WRITE)
async def method_override(request: Request, upload_id: str) -> Response:
    """``X-HTTP-Method-Override`` for clients and proxies that only speak GET and POST."""
    handlers = {"PATCH": patch, "DELETE": delete, "HEAD": head}
    handler = handlers.get(request.headers.get("x-http-method-override", "").strip().upper())
    if handler is None:
        engine = get_engine(request)
        error = PicshaError(
            "POST to an upload needs 'X-HTTP-Method-Override: PATCH' (or DELETE, HEAD).", code="method_not_allowed",
            status=405,
        )
        response = _error(request, error)
        response.headers.update({"Tus-Resumable": th.TUS_VERSION, **_cors(request, engine)})
        return response
    return await handler(request, upload_id)
