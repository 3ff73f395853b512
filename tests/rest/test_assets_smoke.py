from tests.conftest import ApiClient
from tests.factories import image_bytes


async def test_upload_get_list_delete(api: ApiClient) -> None:
    headers = await api.account("alice")
    created = await api.http.post(
        "/v1/assets", headers=headers, files={"file": ("cat.jpg", image_bytes(), "image/png")}, data={"tags": "a,b"}
    )
    assert created.status_code == 201, created.text
    asset = created.json()
    assert asset["status"] == "ready" and asset["meta"]["format"] == "jpeg" and asset["tags"] == ["a", "b"]
    got = await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)
    assert got.json()["id"] == asset["id"]
    listed = await api.http.get("/v1/assets", headers=headers)
    assert listed.json()["total"] == 1
    deleted = await api.http.delete(f"/v1/assets/{asset['id']}", headers=headers)
    assert deleted.status_code == 200
    assert (await api.http.get(f"/v1/assets/{asset['id']}", headers=headers)).status_code == 404
