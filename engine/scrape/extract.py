"""Find what a page points at: its images in every form real sites use, linked files, and links to follow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from engine.scrape.urls import DOC_EXTENSIONS, IMAGE_EXTENSIONS, NOT_PAGES, VIDEO_EXTENSIONS, extension, normalise

LAZY_SRC = ("data-src", "data-lazy", "data-lazy-src", "data-original", "data-url", "data-full", "data-large",
            "data-hi-res-src", "data-zoom-image", "data-bg", "data-background", "data-image")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset", "data-original-set")
META_IMAGES = frozenset({"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"})
ICON_RELS = frozenset({"icon", "shortcut icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"})
JSON_LD_KEYS = frozenset({"image", "thumbnailUrl", "contentUrl", "logo"})
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
SRCSET_ITEM = re.compile(r"\s*(\S+?)(?:\s+([\d.]+)([wxh]))?\s*(?:,|$)")
FONT_OR_CODE = frozenset({".woff", ".woff2", ".ttf", ".otf", ".eot", ".css", ".js", ".cur"})


class FileKind(StrEnum):
    IMAGE = "image"
    ICON = "icon"
    VIDEO = "video"
    DOCUMENT = "document"


@dataclass
class Found:
    files: dict[str, FileKind] = field(default_factory=dict)  # in page order, first kind wins
    links: list[str] = field(default_factory=list)  # pages to follow, in page order

    def file(self, url: str | None, kind: FileKind) -> None:
        if url is not None and url not in self.files:
            self.files[url] = kind

    def link(self, url: str | None) -> None:
        if url is not None:
            self.links.append(url)


def largest_candidate(srcset: str) -> str | None:
    """The candidate of a srcset with the largest width (w) or density (x) descriptor."""
    best: tuple[float, str] | None = None
    for match in SRCSET_ITEM.finditer(srcset):
        url, size, unit = match.group(1), match.group(2), match.group(3)
        if not url:
            continue
        try:  # a density is weighed as 1000 px per 1x, so a list mixing the two still orders
            weight = float(size) * (1000 if unit == "x" else 1) if size else 1000.0
        except ValueError:
            continue
        if best is None or weight > best[0]:
            best = (weight, url)
    return best[1] if best else None


def _json_ld_images(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, str):
        if key in JSON_LD_KEYS:
            yield value
    elif isinstance(value, list):
        for item in value:
            yield from _json_ld_images(item, key)
    elif isinstance(value, dict):
        if key in JSON_LD_KEYS and isinstance(value.get("url"), str):
            yield value["url"]
        for name, item in value.items():
            yield from _json_ld_images(item, name)


def _picture_with_sources(node: LexborNode) -> bool:
    parent = node.parent
    return parent is not None and parent.tag == "picture" and parent.css_first("source[srcset]") is not None


def css_urls(css: str) -> Iterator[str]:
    for match in CSS_URL.finditer(css):
        value = match.group(2).strip()
        if value and not value.startswith("data:") and extension(value) not in FONT_OR_CODE:
            yield value


class PageReader:
    """One page's HTML read once; ``found`` holds absolute, normalised URLs."""

    def __init__(self, html: bytes, page_url: str, *, icons: bool, videos: bool, docs: bool):
        self.tree = LexborHTMLParser(html)
        self.icons, self.videos, self.docs = icons, videos, docs
        base = self.tree.css_first("base[href]")
        base_href = base.attributes.get("href") if base is not None else None
        self.base = normalise(base_href, page_url) if base_href else None
        self.base = self.base or page_url
        self.found = Found()

    def url(self, raw: str | None) -> str | None:
        return normalise(raw, self.base) if raw else None

    def read(self) -> Found:
        self._images()
        self._meta()
        self._json_ld()
        self._css()
        self._anchors()
        self._media()
        return self.found

    def _images(self) -> None:
        for node in self.tree.css("img, picture source, input[type=image]"):
            attrs = node.attributes
            if node.tag == "img" and _picture_with_sources(node):
                continue  # the picture's sources name its larger forms; the img is their fallback
            srcset = next((attrs[name] for name in (*LAZY_SRCSET, "srcset") if attrs.get(name)), None)
            chosen = largest_candidate(srcset) if srcset else None
            chosen = chosen or next((attrs[name] for name in (*LAZY_SRC, "src") if attrs.get(name)), None)
            if chosen and not chosen.startswith("data:"):
                self.found.file(self.url(chosen), FileKind.IMAGE)
        for node in self.tree.css("[data-bg], [data-background], [data-image]"):
            for name in ("data-bg", "data-background", "data-image"):
                value = node.attributes.get(name)
                if value and not value.startswith("data:"):
                    self.found.file(self.url(value), FileKind.IMAGE)

    def _meta(self) -> None:
        for node in self.tree.css("meta[content]"):
            name = (node.attributes.get("property") or node.attributes.get("name") or "").strip().lower()
            if name in META_IMAGES:
                self.found.file(self.url(node.attributes.get("content")), FileKind.IMAGE)
        for node in self.tree.css("link[href][rel]"):
            rel = " ".join((node.attributes.get("rel") or "").lower().split())
            if rel == "image_src":
                self.found.file(self.url(node.attributes.get("href")), FileKind.IMAGE)
            elif self.icons and rel in ICON_RELS:
                self.found.file(self.url(node.attributes.get("href")), FileKind.ICON)

    def _json_ld(self) -> None:
        for node in self.tree.css('script[type="application/ld+json"]'):
            try:
                data = json.loads(node.text() or "null")
            except ValueError:
                continue
            for raw in _json_ld_images(data):
                self.found.file(self.url(raw), FileKind.IMAGE)

    def _css(self) -> None:
        for node in self.tree.css("[style]"):
            for raw in css_urls(node.attributes.get("style") or ""):
                self.found.file(self.url(raw), FileKind.IMAGE)
        for node in self.tree.css("style"):
            for raw in css_urls(node.text() or ""):
                self.found.file(self.url(raw), FileKind.IMAGE)

    def _media(self) -> None:
        if not self.videos:
            return
        for node in self.tree.css("video[src], video source[src]"):
            self.found.file(self.url(node.attributes.get("src")), FileKind.VIDEO)

    def _anchors(self) -> None:
        for node in self.tree.css("a[href], area[href]"):
            self._anchor(node)

    def _anchor(self, node: LexborNode) -> None:
        url = self.url(node.attributes.get("href"))
        if url is None:
            return
        ext = extension(url)
        if ext in IMAGE_EXTENSIONS:
            self.found.file(url, FileKind.IMAGE)
        elif ext in VIDEO_EXTENSIONS:
            if self.videos:
                self.found.file(url, FileKind.VIDEO)
        elif ext in DOC_EXTENSIONS:
            if self.docs:
                self.found.file(url, FileKind.DOCUMENT)
        elif ext not in NOT_PAGES:
            self.found.link(url)


def read_page(html: bytes, page_url: str, *, icons: bool = False, videos: bool = False, docs: bool = False) -> Found:
    return PageReader(html, page_url, icons=icons, videos=videos, docs=docs).read()
