"""A real web site on 127.0.0.1 for the scrape tests: every form of image a page uses, robots.txt with rules
and a Crawl-delay, links three levels deep with a loop, a redirect to a private address, a huge page, a slow
page, one image under two URLs, a 429 with Retry-After, and bytes named .jpg that are not an image."""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from pathlib import Path

from engine import Settings
from tests.factories import image_bytes, make_settings

ROBOTS = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.01\n"

INDEX = """<!doctype html><html><head><title>Gallery</title>
<meta property="og:image" content="/img/og.jpg"><meta name="twitter:image" content="/img/twitter.jpg">
<link rel="icon" href="/favicon.png">
<script type="application/ld+json">{{"@type": "Article", "image": {{"@type": "ImageObject", "url": "/img/ld.jpg"}}}}</script>
<style>.hero {{ background-image: url("/img/style-bg.png"); }}</style>
</head><body>
<img src="/img/plain.jpg" alt="plain">
<img src="/img/srcset-small.jpg" srcset="/img/srcset-small.jpg 100w, /img/srcset-large.jpg 900w" sizes="50vw">
<picture><source srcset="/img/picture.webp" type="image/webp"><img src="/img/picture-fallback.jpg"></picture>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/lazy.jpg">
<div style="background-image: url('/img/inline-bg.png')">hero</div>
<a href="/img/linked.png">full size</a>
<img src="/private/secret.jpg">
<img src="http://10.0.0.1/internal.jpg">
<img src="/go/private.jpg">
<img src="/img/same-a.jpg"><img src="/img/same-b.jpg">
<img src="/img/not-an-image.jpg">
<img src="/img/tiny.png">
<img src="/busy.jpg">
<a href="/a/1.html">one</a> <a href="/huge.html">huge</a> <a href="/slow.html">slow</a>
<a href="/private/page.html">private</a> <a href="http://elsewhere.invalid/page.html">elsewhere</a>
<a href="/bomb.html">bomb</a> <a href="/round.html">round and round</a>
<a href="/#top">top</a>
</body></html>"""

LEVEL = """<!doctype html><html><body><img src="/img/level{n}.jpg"><a href="{next}">next</a>
<a href="/">home</a><a href="/a/{n}.html?">again</a></body></html>"""


def _images() -> dict[str, bytes]:
    names = ["og.jpg", "twitter.jpg", "ld.jpg", "plain.jpg", "srcset-small.jpg", "srcset-large.jpg",
             "picture-fallback.jpg", "lazy.jpg", "linked.png", "level1.jpg", "level2.jpg", "level3.jpg"]
    images = {}
    for index, name in enumerate(names):
        fmt = "png" if name.endswith(".png") else "jpeg"
        images[f"/img/{name}"] = image_bytes(120 + index * 7, 90 + index * 3, fmt)
    images["/img/picture.webp"] = image_bytes(200, 150, "webp")
    images["/img/style-bg.png"] = image_bytes(300, 40, "png")
    images["/img/inline-bg.png"] = image_bytes(310, 50, "png")
    images["/favicon.png"] = image_bytes(32, 32, "png")
    images["/img/tiny.png"] = image_bytes(8, 8, "png")
    same = image_bytes(222, 111)
    images["/img/same-a.jpg"] = images["/img/same-b.jpg"] = same
    images["/private/secret.jpg"] = image_bytes(50, 50)
    images["/busy.jpg"] = image_bytes(140, 140)
    return images


IMAGES = _images()

STORED_FROM_INDEX = {  # every image form on the index page, each stored once (and one of same-a, same-b)
    "/img/og.jpg", "/img/twitter.jpg", "/img/ld.jpg", "/img/plain.jpg", "/img/srcset-large.jpg", "/img/picture.webp",
    "/img/lazy.jpg", "/img/style-bg.png", "/img/inline-bg.png", "/img/linked.png", "/img/tiny.png", "/busy.jpg",
}


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client that hung up on the slow page is expected


class Site:
    """``with Site() as site``: ``site.url('/')``; ``site.hits`` counts requests by path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.agents: set[str] = set()
        self.busy_answered = False
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                path = self.path.split("?", 1)[0]
                with site.lock:
                    site.hits[path] += 1
                    site.agents.add(self.headers.get("User-Agent", ""))
                site.answer(self, path)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "Site":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answers ------------------------------------------------------------------------------------------

    def answer(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        if path == "/robots.txt":
            return self.send(handler, 200, "text/plain", ROBOTS.encode())
        if path in ("/", "/index.html"):
            return self.send(handler, 200, "text/html; charset=utf-8", INDEX.format().encode())
        if path.startswith("/a/") and path.endswith(".html"):
            n = int(path[3:-5])
            following = f"/a/{n + 1}.html" if n < 3 else "/a/1.html"  # 3 links back to 1: a loop
            return self.send(handler, 200, "text/html", LEVEL.format(n=n, next=following).encode())
        if path == "/go/private.jpg":
            return self.send(handler, 302, "text/plain", b"", location=f"http://127.0.0.2:{self.port}/img/behind-redirect.jpg")
        if path == "/huge.html":
            return self.send(handler, 200, "text/html", b"<html><body>" + b"x" * (256 * 1024) + b"</body></html>")
        if path == "/bomb.html":  # 10 MB of HTML in a 10 KB gzip body
            body = b"<html><body>" + b"\0" * (10 * 1024 * 1024) + b"</body></html>"
            return self.send(handler, 200, "text/html", gzip.compress(body), encoding="gzip")
        if path == "/round.html":  # a redirect that never ends
            return self.send(handler, 302, "text/plain", b"", location="/round.html?again")
        if path == "/slow.html":
            return self.trickle(handler)
        if path == "/busy.jpg":
            with self.lock:
                first, self.busy_answered = not self.busy_answered, True
            if first:
                return self.send(handler, 429, "text/plain", b"slow down", retry_after="0")
        if path == "/img/not-an-image.jpg":
            return self.send(handler, 200, "image/jpeg", b"<html>this is not a picture</html>" * 10)
        if path in IMAGES:
            kind = "image/png" if path.endswith(".png") else "image/webp" if path.endswith(".webp") else "image/jpeg"
            return self.send(handler, 200, kind, IMAGES[path])
        return self.send(handler, 404, "text/plain", b"not found")

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, kind: str, body: bytes, *, location: str | None = None,
             retry_after: str | None = None, encoding: str | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        if encoding:
            handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(body)))
        if location:
            handler.send_header("Location", location)
        if retry_after is not None:
            handler.send_header("Retry-After", retry_after)
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        """A slow-loris answer: headers at once, then a byte at a time, slowly."""
        body = b"<html><body>" + b"." * 40 + b"</body></html>"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:  # the scraper gave up on it, as it should
            return


def scrape_settings(tmp_path: Path, site: Site) -> Settings:
    """Loopback admitted for the site's address and port only (not for 127.0.0.2, not for private networks),
    politeness delays tiny, the caps small enough for the site's huge and slow pages."""
    settings = make_settings(tmp_path)
    settings.ingest.fetch_allow_private = False
    settings.ingest.fetch_allowed_networks = [ip_network("127.0.0.1/32")]
    settings.ingest.fetch_allowed_ports = [80, 443, site.port]
    settings.scrape.delay_s = 0.0
    settings.scrape.request_timeout_s = 1.0
    settings.scrape.max_page_bytes = 64 * 1024
    settings.scrape.max_files_cap = 100
    return settings
