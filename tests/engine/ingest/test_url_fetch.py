"""URL ingest: public fetches work; every way of reaching the server's own network is refused."""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.errors import PicshaError
from engine.ingest.fetch import address_allowed
from tests.factories import image_bytes

PNG = image_bytes(40, 30, "png")
INTERNAL = re.compile(r"127\.|10\.\d|::1|169\.254|192\.168|172\.16|fd00|100\.64")


class _Handler(BaseHTTPRequestHandler):
    served: list[str] = []  # paths asked for, in order

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.served.append(self.path)
        routes = {
            "/photo.png": (200, {"Content-Type": "image/png"}, PNG),
            "/to-photo": (302, {"Location": "/photo.png"}, b""),
            "/to-private": (302, {"Location": "http://10.0.0.1/secret.png"}, b""),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/missing": (404, {}, b"nope"),
            "/named": (200, {"Content-Disposition": 'attachment; filename="report card.png"'}, PNG),
        }
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def allow_private(engine: Engine) -> None:
    """The test origin lives on loopback, which production settings refuse."""
    engine.ingest.settings = engine.ingest.settings.model_copy(update={"fetch_allow_private": True})


async def fetch(engine: Engine, owner: Principal, url: str):  # noqa: ANN201
    return await engine.ingest.from_url(owner, url, IngestOptions())


async def test_fetches_a_url(engine: Engine, owner: Principal, origin: str) -> None:
    allow_private(engine)
    asset = await fetch(engine, owner, f"{origin}/photo.png")
    assert asset.filename == "photo.png" and asset.meta.width == 40
    named = await fetch(engine, owner, f"{origin}/named")
    assert named.filename == "report card.png"


async def test_upstream_errors_are_reported(engine: Engine, owner: Principal, origin: str) -> None:
    allow_private(engine)
    with pytest.raises(PicshaError) as missing:
        await fetch(engine, owner, f"{origin}/missing")
    assert missing.value.code == "url_fetch_failed" and missing.value.details["upstream_status"] == 404
    with pytest.raises(PicshaError) as looping:
        await fetch(engine, owner, f"{origin}/loop")
    assert looping.value.code == "url_too_many_redirects" and looping.value.status == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",  # loopback
        "http://127.1.2.3:8080/a.png",  # all of 127/8
        "http://10.1.2.3/a.png",  # private ranges
        "http://172.16.0.5/a.png",
        "http://192.168.1.1/a.png",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://[::1]/a.png",  # IPv6 loopback
        "http://[::ffff:127.0.0.1]/a.png",  # IPv4-mapped IPv6
        "http://[fd00::1]/a.png",  # IPv6 unique local
        "http://2130706433/a.png",  # decimal spelling of 127.0.0.1
        "http://0x7f000001/a.png",  # hex spelling
        "http://0177.0.0.1/a.png",  # octal spelling
        "http://0/a.png",  # 0.0.0.0
        "http://localhost/a.png",  # a name that resolves to 127.0.0.1
        "http://100.64.0.1/a.png",  # carrier-grade NAT
    ],
)
async def test_internal_addresses_are_refused(engine: Engine, owner: Principal, url: str) -> None:
    with pytest.raises(PicshaError) as refused:
        await fetch(engine, owner, url)
    assert refused.value.status == 400
    assert refused.value.code in {"url_address_not_allowed", "url_invalid"}
    assert "address" in refused.value.message or "not valid" in refused.value.message
    assert not INTERNAL.search(refused.value.message), "the refusal names no resolved address"


async def test_redirects_are_checked_again(
    engine: Engine, owner: Principal, origin: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The first hop is allowed and answered; the hop it redirects to (the cloud metadata address) is checked
    again and refused before any connection to it."""
    allow_origin_only(engine, origin, monkeypatch)
    _Handler.served.clear()
    followed = await fetch(engine, owner, f"{origin}/to-photo")
    assert followed.meta.width == 40 and _Handler.served == ["/to-photo", "/photo.png"], "an allowed redirect is followed"
    _Handler.served.clear()
    with caplog.at_level(logging.INFO, logger="picsha.fetch"):
        with pytest.raises(PicshaError) as refused:
            await fetch(engine, owner, f"{origin}/to-metadata")
    assert _Handler.served == ["/to-metadata"], "the first hop was allowed and answered with the redirect"
    assert refused.value.code == "url_address_not_allowed" and refused.value.status == 400
    assert "169.254.169.254" in caplog.text and not INTERNAL.search(refused.value.message)


def allow_origin_only(engine: Engine, origin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Public-only settings, except that the test origin's address and port count as allowed."""
    import engine.ingest.fetch as fetch_module

    real = fetch_module.address_allowed
    monkeypatch.setattr(
        fetch_module, "address_allowed", lambda a, allow_private: a == "127.0.0.1" or real(a, allow_private=allow_private)
    )
    port = int(origin.rsplit(":", 1)[1])
    engine.ingest.settings = engine.ingest.settings.model_copy(
        update={"fetch_allow_private": False, "fetch_allowed_ports": [80, 443, port]}
    )


async def test_redirect_to_a_private_address_is_refused_after_an_allowed_hop(
    engine: Engine, owner: Principal, origin: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Allow exactly the test origin, so the refusal can only come from the check on the redirect target."""
    allow_origin_only(engine, origin, monkeypatch)
    with caplog.at_level(logging.INFO, logger="picsha.fetch"):
        with pytest.raises(PicshaError) as to_private:
            await fetch(engine, owner, f"{origin}/to-private")
    assert to_private.value.code == "url_address_not_allowed" and to_private.value.status == 400
    assert "10.0.0.1" not in to_private.value.message and "10.0.0.1" in caplog.text, "the detail is in the log only"


async def test_only_ports_80_and_443_by_default(
    engine: Engine, owner: Principal, origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    allow_origin_only(engine, origin, monkeypatch)
    assert (await fetch(engine, owner, f"{origin}/photo.png")).meta.width == 40, "a configured port is allowed"
    engine.ingest.settings = engine.ingest.settings.model_copy(update={"fetch_allowed_ports": [80, 443]})
    with pytest.raises(PicshaError) as refused:
        await fetch(engine, owner, f"{origin}/photo.png")
    assert refused.value.code == "url_address_not_allowed" and "ports 80 and 443" in refused.value.message
    for url in ("http://93.184.216.34:22/", "https://93.184.216.34:6379/", "http://93.184.216.34:8080/"):
        with pytest.raises(PicshaError) as public:
            await fetch(engine, owner, url)
        assert public.value.code == "url_address_not_allowed", "refused before any connection is tried"


async def test_a_host_that_does_not_resolve_is_the_callers_error(
    engine: Engine, owner: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.ingest.fetch as fetch_module

    async def resolver(host: str, port: int, **kwargs: object) -> list[object]:
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(fetch_module.anyio, "getaddrinfo", resolver)
    with pytest.raises(PicshaError) as unknown:
        await fetch(engine, owner, "http://no-such-host.invalid/a.png")
    assert unknown.value.status == 400 and unknown.value.code == "url_unresolvable"
    with pytest.raises(PicshaError) as flaky:
        await fetch(engine, owner, "http://example.com/a.png")
    assert flaky.value.status == 502 and flaky.value.code == "url_fetch_failed", "a resolver outage is upstream's"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a", "gopher://x/", "javascript:alert(1)", "http:///nohost"])
async def test_only_http_and_https(engine: Engine, owner: Principal, url: str) -> None:
    with pytest.raises(PicshaError) as refused:
        await fetch(engine, owner, url)
    assert refused.value.code in {"url_scheme_not_allowed", "url_invalid"}


def test_address_policy() -> None:
    assert address_allowed("93.184.216.34", allow_private=False)
    assert address_allowed("2606:2800:220:1:248:1893:25c8:1946", allow_private=False)
    for refused in ("127.0.0.1", "10.0.0.1", "::1", "169.254.169.254", "224.0.0.1", "0.0.0.0", "fe80::1"):
        assert not address_allowed(refused, allow_private=False)
    assert address_allowed("127.0.0.1", allow_private=True)
    assert not address_allowed("224.0.0.1", allow_private=True)
