"""URL normalisation (so one resource is visited once) and the same-site rule of a crawl."""

from __future__ import annotations

from posixpath import splitext
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg", ".bmp", ".tif", ".tiff",
                              ".heic", ".heif", ".ico", ".jfif"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".webm", ".m4v", ".mkv", ".avi", ".ogv"})
DOC_EXTENSIONS = frozenset({".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".txt", ".md",
                            ".csv", ".zip", ".rtf"})
NOT_PAGES = frozenset({".css", ".js", ".json", ".xml", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".wav",
                       ".gz", ".tar", ".exe", ".dmg", ".rss", ".atom"})


def normalise(raw: str, base: str | None = None) -> str | None:
    """An absolute http(s) URL in one canonical spelling (lower-case scheme and host, no default port, no
    fragment, a path of at least '/'), or None for anything else (mailto:, javascript:, data:, junk)."""
    raw = raw.strip()
    if not raw or len(raw) > 2048:
        return None
    try:
        parts = urlsplit(urljoin(base, raw) if base else raw)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit(SplitResult(scheme, netloc, parts.path or "/", parts.query, ""))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def site_of(url: str) -> str:
    """The host without a leading 'www.': www.example.com and example.com are one site."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def extension(url: str) -> str:
    return splitext(unquote(urlsplit(url).path))[1].lower()


def filename_of(url: str) -> str:
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1]
    return name or "index"
