"""Office documents end to end, with LibreOffice for real: PDF view, thumbnail, renders, meta, text, search,
summaries, and the files that must be refused (bombs, damaged and password-protected documents)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import httpx2
import pypdfium2
import pytest
import pyvips
import sqlalchemy as sa

from engine.catalog import tables
from engine.enrich.claude import ClaudeWriter
from engine.enrich.settings import ClaudeSettings
from tests.conftest import ApiClient, app_client
from tests.documents import (
    corrupt_docx, docx_bomb, docx_bytes, encrypted_docx, legacy_files, odp_bytes, odt_bytes, ods_bytes, pptx_bytes, rtf_bytes,
    xlsx_bytes,
)
from tests.engine.enrich.test_claude import FakeAnthropic
from tests.factories import make_settings

# CI installs LibreOffice (.ci/run) and must run these; elsewhere they skip without it.
pytestmark = pytest.mark.skipif(not shutil.which("soffice") and os.environ.get("CI") != "true",
                                reason="LibreOffice is not installed (make libreoffice)")


@pytest.fixture(scope="module")
async def docs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ApiClient]:
    """One app (and one warm LibreOffice pool) for the module; Claude answers from a fake at the HTTP layer."""
    settings = make_settings(tmp_path_factory.mktemp("documents"))
    settings.documents.convert = True
    settings.enrich.claude = ClaudeSettings(api_key="sk-ant-test", attempts=1)
    async with app_client(settings) as client:
        yield client


@pytest.fixture(scope="module")
async def headers(docs: ApiClient) -> dict[str, str]:
    return await docs.account("documents")


async def upload(api: ApiClient, headers: dict[str, str], data: bytes, name: str, **fields: str) -> httpx2.Response:
    """The upload's answer; once its job (conversion, then any analyses) finished, the asset as it is then."""
    response = await api.http.post("/v1/assets", headers=headers, data=fields,
                                   files={"file": (name, data, "application/octet-stream")})
    job_id = response.headers.get("x-job-id")
    if response.status_code not in (200, 201, 202) or not job_id:
        return response
    assert await api.engine.jobs.wait(job_id, 120)
    asset = await api.http.get(f"/v1/assets/{response.json()['id']}", headers=headers)
    return httpx2.Response(response.status_code, json=asset.json() | {"job_id": job_id})


async def fetch(api: ApiClient, url: str) -> bytes:
    response = await api.http.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, response.text
    return response.content


def pdf_text(data: bytes) -> tuple[int, str]:
    document = pypdfium2.PdfDocument(data)
    try:
        return len(document), "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


CASES = [
    ("plan.docx", lambda: docx_bytes("The lighthouse keeper counts seventeen gulls."), "lighthouse"),
    ("budget.xlsx", lambda: xlsx_bytes({"A1": "Item", "B2": "pineapple", "C3": 42}), "pineapple"),
    ("deck.pptx", lambda: pptx_bytes([("Giraffe migration", "Savanna routes")], notes="speaker reminder"), "Giraffe"),
    ("minutes.odt", lambda: odt_bytes("The quorum approved the walrus budget."), "walrus"),
    ("stock.ods", lambda: ods_bytes(["marmalade", "porridge"]), "marmalade"),
    ("talk.odp", lambda: odp_bytes("Flamingo colours", notes="pink shrimp"), "Flamingo"),
    ("memo.rtf", lambda: rtf_bytes("Pelican crossing ahead."), "Pelican"),
    ("notes.txt", lambda: b"Otters hold hands while they sleep.\n", "Otters"),
    ("readme.md", lambda: b"# Field notes\n\nThe *heron* waits by the weir.\n", "heron"),
]


@pytest.mark.parametrize(("name", "make", "word"), CASES, ids=[c[0] for c in CASES])
async def test_office_files_get_a_pdf_view_thumbnail_renders_and_meta(
    docs: ApiClient, headers: dict[str, str], name: str, make, word: str  # noqa: ANN001
) -> None:
    response = await upload(docs, headers, make(), name)
    assert response.status_code == 201, response.text
    asset = (await docs.http.get(f"/v1/assets/{response.json()['id']}", headers=headers)).json()
    kind = "text" if name.endswith((".txt", ".md")) else "document"
    assert asset["status"] == "ready" and asset["type"] == kind and asset["meta"]["format"] == name.split(".")[1]
    assert asset["analysis"]["done"] == ["pdf_view", "previews"], asset["analysis"]
    pages, text = pdf_text(await fetch(docs, asset["urls"]["pdf_view"]))  # signed: no key needed
    assert pages >= 1 and asset["meta"]["pages"] == pages and word in text
    thumbnail = pyvips.Image.new_from_buffer(await fetch(docs, asset["urls"]["thumbnail"]), "")
    assert max(thumbnail.width, thumbnail.height) == 256 and thumbnail.avg() < 255  # not a blank page
    render = await docs.http.get(f"/v1/assets/{asset['id']}/render?page=1&w=120&format=png", headers=headers)
    assert render.status_code == 200 and pyvips.Image.new_from_buffer(render.content, "").width == 120
    beyond = await docs.http.get(f"/v1/assets/{asset['id']}/render?page={pages + 1}&w=120", headers=headers)
    assert beyond.status_code == 400 and beyond.json()["error"]["code"] == "render_page_out_of_range"
    u = tables.usage_events
    async with docs.engine.catalog.connect() as conn:
        renders = (await conn.execute(sa.select(u.c.detail).where(u.c.asset_id == asset["id"], u.c.kind == "render"))).scalars()
        assert {"format": "pdf", "source": asset["meta"]["format"], "pages": pages} in list(renders)  # conversion billed


async def test_document_properties_land_in_meta(docs: ApiClient, headers: dict[str, str]) -> None:
    word = (await upload(docs, headers, docx_bytes("Tide tables.", title="Tides", author="Ada Lovelace"), "t.docx")).json()
    assert word["meta"]["exif"]["title"] == "Tides" and word["meta"]["exif"]["author"] == "Ada Lovelace"
    assert word["meta"]["exif"]["created"].startswith("2024-06-15") and word["taken_at"].startswith("2024-06-15")
    deck = (await upload(docs, headers, pptx_bytes([("One", "a"), ("Two", "b"), ("Three", "c")]), "d.pptx")).json()
    assert deck["meta"]["exif"]["slides"] == 3
    odt = (await upload(docs, headers, odt_bytes("x", title="Quorum notes"), "n.odt")).json()
    assert odt["meta"]["exif"]["title"] == "Quorum notes" and odt["meta"]["exif"]["author"] == "Alan Turing"


async def test_search_finds_a_spreadsheet_by_a_cell_and_a_deck_by_a_slide(docs: ApiClient) -> None:
    headers = await docs.account("searcher")
    sheet = (await upload(docs, headers, xlsx_bytes({"D7": "kumquat"}), "q3.xlsx")).json()["id"]
    deck = (await upload(docs, headers, pptx_bytes([("Roadmap", "the narwhal initiative")], notes="hush"), "r.pptx")).json()["id"]
    found = {}
    for query in ("kumquat", "narwhal", "hush"):
        body = (await docs.http.post("/v1/search", headers=headers, json={"query": query})).json()
        found[query] = [hit["id"] for hit in body["results"]]
    talk = (await upload(docs, headers, odp_bytes("Puffin talk", notes="burrow"), "p.odp")).json()["id"]
    for query in ("Puffin", "burrow"):
        body = (await docs.http.post("/v1/search", headers=headers, json={"query": query})).json()
        found[query] = [hit["id"] for hit in body["results"]]
    assert found == {"kumquat": [sheet], "narwhal": [deck], "hush": [deck], "Puffin": [talk], "burrow": [talk]}


async def test_auto_summarize_summarises_every_document_type(docs: ApiClient, headers: dict[str, str]) -> None:
    fake = FakeAnthropic("A short summary.")
    engine = docs.engine
    engine.enrich.steps.writer = ClaudeWriter(engine.settings.enrich.claude, "sk-ant-test",
                                              http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake)))
    try:
        for name, make, word in CASES:
            asset = (await upload(docs, headers, make(), name, config='{"auto_summarize": true}')).json()
            assert asset["ai"]["summary"] == "A short summary." and asset["status"] == "ready", (name, asset)
            prompt = fake.requests[-1]["messages"][0]["content"][0]["text"]  # type: ignore[index]
            assert word in prompt, name  # the document's own words were summarised
    finally:
        engine.enrich.steps.writer = None


async def test_a_docx_bomb_is_refused_from_its_directory(docs: ApiClient, headers: dict[str, str]) -> None:
    bomb = docx_bomb()  # 64 KiB that inflate to 64 MiB
    response = await upload(docs, headers, bomb, "bomb.docx")
    assert response.status_code == 400 and response.json()["error"]["code"] == "asset_archive_bomb", response.text
    assert len(bomb) < 1024 * 1024 and "inflates" in response.json()["error"]["message"]


async def test_damaged_and_password_protected_documents_are_refused(docs: ApiClient, headers: dict[str, str]) -> None:
    damaged = await upload(docs, headers, corrupt_docx(), "damaged.docx")
    assert damaged.status_code == 400 and damaged.json()["error"]["code"] == "asset_file_corrupt", damaged.text
    locked = await upload(docs, headers, encrypted_docx("secret plans"), "locked.docx")
    assert locked.status_code == 400 and locked.json()["error"]["code"] == "asset_document_encrypted", locked.text
    assert "password" in locked.json()["error"]["message"]


async def test_a_conversion_that_times_out_leaves_the_asset_usable(docs: ApiClient, headers: dict[str, str]) -> None:
    settings = docs.engine.documents.settings
    before, settings.timeout_s = settings.timeout_s, 0.001
    try:
        response = await upload(docs, headers, docx_bytes("The albatross report."), "slow.docx")
    finally:
        settings.timeout_s = before
    asset = response.json()
    assert asset["status"] == "ready" and asset["urls"]["pdf_view"] is None and asset["urls"]["thumbnail"] is None
    assert "document_conversion_timeout" in asset["analysis"]["failed"]["pdf_view"]
    job = (await docs.http.get(f"/v1/jobs/{asset['job_id']}", headers=headers)).json()
    assert job["status"] == "failed" and "document_conversion_timeout" in job["error"]
    assert (await docs.http.get(f"/v1/assets/{asset['id']}/content", headers=headers)).status_code == 200
    render = await docs.http.get(f"/v1/assets/{asset['id']}/render?w=100", headers=headers)
    assert render.status_code == 409 and render.json()["error"]["code"] == "render_pdf_view_missing"
    view = await docs.http.get(f"/v1/assets/{asset['id']}/pdf", headers=headers)
    assert view.status_code == 404 and view.json()["error"]["code"] == "asset_pdf_view_missing"
    found = (await docs.http.post("/v1/search", headers=headers, json={"query": "albatross"})).json()["results"]
    assert [hit["id"] for hit in found] == [asset["id"]]  # its own words are still read
    # the killed instance was replaced: the next conversion works
    again = (await upload(docs, headers, docx_bytes("Recovered."), "next.docx")).json()
    assert again["urls"]["pdf_view"] is not None
    ranged = await docs.http.get(f"/v1/assets/{again['id']}/pdf", headers=headers | {"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"%PDF"  # with a key, and in pieces


async def test_legacy_office_files_are_sniffed_converted_and_found(
    docs: ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    headers = await docs.account("legacy")
    files = legacy_files(tmp_path_factory.mktemp("legacy"), {
        "old.doc": docx_bytes("The otter census is due.", author="Ada Lovelace"),
        "old.xls": xlsx_bytes({"B2": "quince"}),
        "old.ppt": pptx_bytes([("Heron survey", "wetlands")]),
    })
    for name, data in files.items():
        asset = (await upload(docs, headers, data, name)).json()
        assert asset["meta"]["format"] == name.split(".")[1] and asset["urls"]["pdf_view"], asset
        assert max(pyvips.Image.new_from_buffer(await fetch(docs, asset["urls"]["thumbnail"]), "").width, 1) > 1
    assert (await upload(docs, headers, files["old.doc"], "again.doc")).json()["meta"]["exif"]["author"] == "Ada Lovelace"
    for word, name in (("otter", "old.doc"), ("quince", "old.xls"), ("Heron", "old.ppt")):
        hits = (await docs.http.post("/v1/search", headers=headers, json={"query": word})).json()["results"]
        assert name in [hit["filename"] for hit in hits], word  # the PDF view's words


async def test_pre_render_sizes_come_from_the_pdf_view(docs: ApiClient, headers: dict[str, str]) -> None:
    text = "\n".join(["A wide page of text."] * 10)
    asset = (await upload(docs, headers, docx_bytes(text), "wide.docx", config='{"pre_render_sizes": true}')).json()
    d = tables.derivatives
    async with docs.engine.catalog.connect() as conn:
        kinds = (await conn.execute(sa.select(d.c.kind, d.c.width).where(d.c.asset_id == asset["id"]))).all()
    assert {kind for kind, _ in kinds} == {"pdf_view", "thumbnail", "responsive"}
    assert sorted(w for kind, w in kinds if kind == "responsive") == [320]  # narrower than the 612 pt page


async def test_without_libreoffice_the_conversion_is_skipped_and_said(docs: ApiClient, headers: dict[str, str]) -> None:
    settings = docs.engine.documents.settings
    before, settings.soffice = settings.soffice, "picsha-no-such-office"
    try:
        asset = (await upload(docs, headers, docx_bytes("Cormorant."), "none.docx")).json()
    finally:
        settings.soffice = before
    assert asset["status"] == "ready" and asset["urls"]["pdf_view"] is None
    assert "not installed" in asset["analysis"]["skipped"]["pdf_view"]
