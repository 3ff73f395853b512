"""The media library page: static files of ``picsha_mcp/web`` at ``/``, under a strict CSP.

The files are read once at start. They are served under ``/web/<digest>/`` where the digest covers every
file, so a browser may keep them for a year (a new release has a new digest); ``/`` itself is revalidated
on every visit and names the current digest. No Node build runs here: the page is plain ES modules plus
Uppy's prebuilt bundle (``make web-vendor`` fetches it again from the npm registry and checks its hashes).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
BASE_MARK = "{{BASE}}"  # index.html's placeholder for /web/<digest>
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = (".js", ".mjs", ".css", ".html", ".svg")
SKIPPED = frozenset({"SHA256SUMS", "README.md"})  # notes on the vendored files, for people and make
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class WebFile:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def _file(body: bytes, suffix: str) -> WebFile:
    content_type = TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "image/svg+xml":
        content_type += "; charset=utf-8"
    gzipped = gzip.compress(body, 6, mtime=0) if suffix in COMPRESSIBLE and len(body) > 1024 else None
    return WebFile(body, gzipped, content_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def csp(public_url: str) -> str:
    """Scripts, styles and everything else from this origin only: no inline code, no eval. Images and
    requests may also go to the public URL's origin, since the API's signed links name it."""
    parts = urlsplit(public_url)
    origin = f" {parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' blob: data:{origin}; connect-src 'self'{origin}; font-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class WebPage:
    """The page's files, held in memory, and the headers they are served with."""

    def __init__(self, root: Path, public_url: str):
        files = sorted(path for path in root.rglob("*") if path.is_file() and path.name not in SKIPPED)
        digest = hashlib.sha256()
        raw: dict[str, bytes] = {}
        for path in files:
            name = path.relative_to(root).as_posix()
            raw[name] = path.read_bytes()
            digest.update(name.encode() + b"\0" + raw[name] + b"\0")
        self.digest = digest.hexdigest()[:16]
        self.base = f"/web/{self.digest}"
        index = raw.pop("index.html").replace(BASE_MARK.encode(), self.base.encode())
        self.index = _file(index, ".html")
        self.files = {name: _file(body, Path(name).suffix) for name, body in raw.items()}
        self.headers = {
            "Content-Security-Policy": csp(public_url), "Referrer-Policy": "same-origin",
            "X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin",
        }

    def answer(self, request: Request, file: WebFile, cache_control: str) -> Response:
        headers = {**self.headers, "Cache-Control": cache_control, "ETag": file.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == file.etag:
            return Response(status_code=304, headers=headers)
        body = file.body
        if file.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = file.gzipped, "gzip"
        return Response(body, media_type=file.content_type, headers=headers)


def routes(public_url: str, root: Path = WEB_DIR) -> list[Route]:
    """Plain Starlette routes, not API routes: public files, outside the OpenAPI document and the API's auth."""
    page = WebPage(root, public_url)

    async def index(request: Request) -> Response:
        return page.answer(request, page.index, REVALIDATE)

    async def web_file(request: Request) -> Response:
        digest, name = request.path_params["digest"], request.path_params["name"]
        file = page.files.get(name)
        if file is None:
            raise NotFound(f"No file {name!r} in the web page.", code="not_found")
        # An older page may still ask with its own digest: answer today's file, but let no cache keep it.
        return page.answer(request, file, IMMUTABLE if digest == page.digest else REVALIDATE)

    return [Route("/", index, methods=["GET", "HEAD"]),
            Route("/web/{digest}/{name:path}", web_file, methods=["GET", "HEAD"])]
