"""Hostile files: each is refused with a clear 4xx code, or stored and then rendered safely.

Refusals of bombs are structural (from image headers or the ZIP central directory, before anything is
inflated), which is what is asserted; times are printed, not asserted. Memory growth of the process is
bounded, nothing external is fetched, and the server stays up.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx2
import pytest

from engine.errors import InvalidInput
from engine.media.archive import ArchiveLimits
from engine.enrich.source import AssetRecord, load_source
from tests.conftest import ApiClient, LiveServer
from tests.factories import docx_bytes, make_key
from tests.hostile.conftest import Canary
from tests.hostile.corpus import Case, archive_cases, corpus
from tests.hostile.measure import peak_rss_growth

CANARY = "http://canary.invalid"
CASES = {case.id: case for case in corpus(CANARY)}
MAX_GROWTH = 300 * 1024 * 1024


def _data(case: Case, canary: Canary) -> bytes:
    return case.data.replace(CANARY.encode(), canary.url.encode())


def _check_answer(case: Case, status: int, body: dict) -> str | None:
    """The asset id when stored; asserts a refusal is a 4xx with one of the case's codes."""
    if status == 201:
        assert case.stored_ok, f"{case.id} was stored; it must be refused with one of {sorted(case.codes)}"
        return body["id"]
    assert 400 <= status < 500, (case.id, status, body)
    assert body["error"]["code"] in case.codes and body["error"]["message"], (case.id, body)
    return None


@pytest.mark.parametrize("case_id", list(CASES))
async def test_hostile_file(api: ApiClient, canary: Canary, case_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[case_id]
    headers = await api.account()
    inflaters = []
    real = zipfile._get_decompressor
    monkeypatch.setattr(zipfile, "_get_decompressor", lambda method: inflaters.append(method) or real(method))

    with peak_rss_growth() as peak:
        response = await api.http.post(
            "/v1/assets", headers=headers, files={"file": (case.filename, _data(case, canary), "application/octet-stream")}
        )
        asset_id = _check_answer(case, response.status_code, response.json())
        if asset_id is not None:
            render = await api.http.get(f"/v1/assets/{asset_id}/render?w=64", headers=headers)
            assert render.status_code < 500, (case.id, render.text)
    print(f"{case.id}: {response.status_code} in {peak.seconds:.3f}s, peak growth {peak.growth / 2**20:.0f} MiB")

    assert peak.growth < MAX_GROWTH, f"{case.id} grew the process by {peak.growth / 2**20:.0f} MiB"
    if case.structural:
        assert asset_id is None
        assert inflaters == [], f"{case.id}: {len(inflaters)} member(s) inflated before the refusal"
    assert canary.hits == []
    assert (await api.http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("case", [c for c in archive_cases() if c.id.startswith("docx-") and not c.stored_ok],
                         ids=lambda c: c.id)
def test_text_extraction_refuses_what_ingest_refuses(tmp_path: Path, case: Case) -> None:
    """python-docx inflates every part; it only ever sees a file that passed the archive checks."""
    path = tmp_path / "a.docx"
    path.write_bytes(case.data)
    with peak_rss_growth() as peak, pytest.raises(InvalidInput) as refused:
        load_source(_docx_record(), path, max_side=64, pdf_pages=1, archive=ArchiveLimits())
    assert refused.value.code in case.codes
    assert peak.growth < MAX_GROWTH


def test_text_extraction_reads_an_ordinary_docx(tmp_path: Path) -> None:
    path = tmp_path / "a.docx"
    path.write_bytes(docx_bytes("Quarterly report for the finance team."))
    source = load_source(_docx_record(), path, max_side=64, pdf_pages=1, archive=ArchiveLimits())
    assert source.text == "Quarterly report for the finance team."


def test_archive_limits_come_from_settings(api: ApiClient) -> None:
    limits = api.engine.ingest.settings.archive_limits()
    assert limits == ArchiveLimits()


async def test_a_lower_member_limit_is_named_in_the_refusal(tmp_path: Path) -> None:
    from tests.conftest import app_client
    from tests.factories import make_settings

    settings = make_settings(tmp_path)
    settings.ingest.archive_max_member_bytes = 1000
    async with app_client(settings) as api:
        headers = await api.account()
        response = await api.http.post(
            "/v1/assets", headers=headers, files={"file": ("a.docx", docx_bytes("x" * 5000), "application/octet-stream")}
        )
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "asset_archive_too_large"
    assert error["limit"] == 1000 and error["setting"] == "PICSHA_INGEST__ARCHIVE_MAX_MEMBER_BYTES"


def test_live_server_takes_the_whole_corpus_and_stays_up(live_server: LiveServer, canary: Canary) -> None:
    key = make_key(live_server.settings)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx2.Client(base_url=live_server.url, timeout=60) as http:
        for case in CASES.values():
            response = http.post(
                "/v1/assets", headers=headers, files={"file": (case.filename, _data(case, canary), "application/octet-stream")}
            )
            asset_id = _check_answer(case, response.status_code, response.json())
            if asset_id is not None:
                assert http.get(f"/v1/assets/{asset_id}/render?w=64", headers=headers).status_code < 500, case.id
        assert http.get("/healthz").status_code == 200
    assert canary.hits == []


def _docx_record() -> AssetRecord:
    return AssetRecord(id="as_x", account_id="acc", type="document", format="docx", filename="a.docx",
                       status="ready", created_at=None)
