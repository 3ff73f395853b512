"""The library page's files at ``/``: a strict CSP, no inline code, long caching of digest-named files, and
the API's own routes untouched."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.conftest import ApiClient
from tests.factories import image_bytes


class _Inline(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, style elements and attributes, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
            self._in_script = True
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag} {name}" for name, _ in attrs if name == "style" or name.startswith("on")]
        self.inline += [f"{tag} {value}" for value in named.values() if value and value.startswith("javascript:")]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script body: {data[:40]!r}")


async def test_the_page_is_served_with_a_strict_csp_and_no_inline_code(api: ApiClient) -> None:
    page = await api.http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    parsed = _Inline()
    parsed.feed(page.text)
    assert parsed.inline == []
    assert parsed.scripts and all(script.get("src", "").startswith("/web/") for script in parsed.scripts)


async def test_page_files_are_cached_by_digest_and_revalidated_otherwise(api: ApiClient) -> None:
    page = await api.http.get("/")
    base = re.search(r'src="(/web/[0-9a-f]+)/app\.js"', page.text).group(1)
    script = await api.http.get(f"{base}/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"] and script.headers["content-encoding"] == "gzip"
    assert "content-security-policy" in script.headers
    assert "import " in script.text  # an ES module, decompressed by the client
    again = await api.http.get(f"{base}/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    stale = await api.http.get("/web/0000000000000000/app.js")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    uppy = await api.http.get(f"{base}/vendor/uppy/uppy.min.mjs")
    assert uppy.status_code == 200 and "Uppy" in uppy.text
    assert (await api.http.get(f"{base}/vendor/uppy/LICENSE")).status_code == 200
    missing = await api.http.get(f"{base}/nothing.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await api.http.get(f"{base}/vendor/%2e%2e/api.js")).status_code == 404  # names are looked up, not joined


async def test_api_routes_are_unaffected_by_the_page(api: ApiClient) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    unauthorised = await api.http.get("/v1/assets")
    assert unauthorised.status_code == 401 and "content-security-policy" not in unauthorised.headers
    assert (await api.http.get("/v1/openapi.json")).status_code == 200
    openapi = (await api.http.get("/v1/openapi.json")).json()
    assert "/" not in openapi["paths"] and not any(path.startswith("/web/") for path in openapi["paths"])


async def test_render_links_are_signed_for_the_callers_own_assets(api: ApiClient) -> None:
    mine, theirs = await api.account("me"), await api.account("them")
    ids = []
    for headers in (mine, theirs):
        created = await api.http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(300, 200, "png"))})
        ids.append(created.json()["id"])
    answer = await api.http.post("/v1/assets/render-links", headers=mine,
                                 json={"asset_ids": ids, "params": {"w": 120, "format": "webp", "strip": True}})
    assert answer.status_code == 200
    links = answer.json()["links"]
    assert list(links) == [ids[0]]  # the other account's asset gets no link
    rendered = await api.http.get(links[ids[0]].removeprefix("http://testserver"))
    assert rendered.status_code == 200 and rendered.headers["content-type"] == "image/webp"
    tampered = links[ids[0]].removeprefix("http://testserver").replace("w=120", "w=121")
    assert (await api.http.get(tampered)).status_code == 403
    bad = await api.http.post("/v1/assets/render-links", headers=mine, json={"asset_ids": ids, "params": {"w": "huge"}})
    assert bad.status_code == 400 and bad.json()["error"]["code"]
    unknown = await api.http.post("/v1/assets/render-links", headers=mine, json={"asset_ids": ids, "params": {"size": 3}})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "render_param_unknown"
    assert (await api.http.post("/v1/assets/render-links", json={"asset_ids": ids})).status_code == 401
