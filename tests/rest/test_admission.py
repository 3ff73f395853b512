"""A saturated class of requests (uploads, searches, analyses) is refused at once with 503, Retry-After and a
code naming the class, while the other classes and cheap requests are still answered."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from engine.admission import AdmissionSettings, Gate
from engine.errors import Busy
from tests.conftest import ApiClient, app_client
from tests.factories import image_bytes, make_settings


async def test_a_gate_admits_up_to_its_limit_and_frees_places_on_exit() -> None:
    gate = Gate("search", 2, retry_after_s=3)
    async with AsyncExitStack() as held:
        await held.enter_async_context(gate.enter())
        await held.enter_async_context(gate.enter())
        with pytest.raises(Busy) as busy:
            async with gate.enter():
                pass
        assert busy.value.code == "search_busy" and busy.value.retry_after == 3 and gate.refused == 1
    with pytest.raises(ValueError):
        async with gate.enter():
            raise ValueError("a failing request gives its place back too")
    assert gate.active == 0


def _refused(response, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == code


async def test_each_saturated_class_answers_503_with_retry_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path).model_copy(
        update={"admission": AdmissionSettings(uploads=1, searches=1, analyses=1, retry_after_s=2)})
    async with app_client(settings) as api:
        await _saturate_each_class(api)


async def _saturate_each_class(api: ApiClient) -> None:
    headers = await api.account()
    made = await api.http.post("/v1/assets", headers=headers, files={"file": ("a.png", image_bytes(32, 32, "png"))})
    assert made.status_code in (201, 202), made.text
    asset_id = made.json()["id"]
    gates = api.engine.admission
    async with gates.uploads.enter():  # another upload is in progress
        _refused(await api.http.post("/v1/assets", headers=headers,
                                     files={"file": ("b.png", image_bytes(32, 32, "png"))}), "upload_busy")
        created = await api.http.post("/v1/upload/resumable", headers=headers | {
            "Tus-Resumable": "1.0.0", "Upload-Length": "4"})
        assert created.status_code == 201  # creating costs nothing; sending the bytes waits for a place
        patched = await api.http.patch(created.headers["location"], content=b"text", headers=headers | {
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        _refused(patched, "upload_busy")
        assert (await api.http.get(f"/v1/assets/{asset_id}", headers=headers)).status_code == 200
        assert (await api.http.post("/v1/search", headers=headers, json={"query": "a"})).status_code == 200
    async with gates.searches.enter():
        _refused(await api.http.post("/v1/search", headers=headers, json={"query": "a"}), "search_busy")
        _refused(await api.http.get("/v1/assets", headers=headers, params={"q": "a"}), "search_busy")
        assert (await api.http.get("/v1/assets", headers=headers)).status_code == 200
    async with gates.analyses.enter():
        _refused(await api.http.post(f"/v1/assets/{asset_id}/skills/colors/run", headers=headers), "analysis_busy")
    assert (gates.uploads.active, gates.searches.active, gates.analyses.active) == (0, 0, 0)
    assert (await api.http.post("/v1/search", headers=headers, json={"query": "a"})).status_code == 200
