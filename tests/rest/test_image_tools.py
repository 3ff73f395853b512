"""Image tools over REST in the image-tools API's shape: multipart in, the file out; stored assets; batches."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyvips

from tests.conftest import ApiClient
from tests.engine.imaging import onnx_models
from tests.factories import image_bytes


def size(data: bytes) -> tuple[int, int]:
    image = pyvips.Image.new_from_buffer(data, "")
    return image.width, image.height


async def test_a_file_in_the_file_out(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/tools/resize", headers=headers,
                                 files={"file": ("photo.jpg", image_bytes(400, 300), "image/jpeg")},
                                 data={"settings": json.dumps({"width": 200})})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg" and size(answer.content) == (200, 150)
    assert 'filename="photo.jpg"' in answer.headers["content-disposition"]
    usage = (await api.http.get("/v1/usage", headers=headers)).json()
    assert usage["period"] == "current_month"


async def test_bad_requests_name_what_is_valid(api: ApiClient) -> None:
    headers = await api.account()
    photo = {"file": ("p.jpg", image_bytes(50, 50), "image/jpeg")}
    unknown = await api.http.post("/v1/tools/enhance-everything", headers=headers, files=photo)
    assert unknown.status_code == 404 and "resize" in unknown.json()["error"]["valid"]
    bad = await api.http.post("/v1/tools/resize", headers=headers, files=photo, data={"settings": '{"fit": "squash", "width": 5}'})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "tool_settings_invalid"
    assert "fit" in bad.json()["error"]["message"] and "cover" in bad.json()["error"]["message"]
    not_json = await api.http.post("/v1/tools/resize", headers=headers, files=photo, data={"settings": "{width"})
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "invalid_json"
    fake = await api.http.post("/v1/tools/resize", headers=headers, data={"settings": '{"width": 5}'},
                               files={"file": ("x.jpg", b"MZ\x90\x00 not an image" * 20, "image/jpeg")})
    assert fake.status_code == 415
    two = await api.http.post("/v1/tools/resize", headers=headers, data={"settings": '{"width": 5}'},
                              files=[("file", ("a.jpg", image_bytes(20, 20), "image/jpeg"))] * 2)
    assert two.status_code == 400 and two.json()["error"]["code"] == "tool_input_count"


async def test_on_stored_assets_the_result_is_a_new_asset(api: ApiClient) -> None:
    headers = await api.account()
    import base64
    source = (await api.http.post("/v1/tools/upload_asset", headers=headers, json={
        "base64": base64.b64encode(image_bytes(300, 200)).decode(), "filename": "beach.jpg"})).json()
    made = await api.http.post("/v1/tools/crop", headers=headers,
                               json={"asset_id": source["id"], "settings": {"width": 100, "height": 80}})
    assert made.status_code == 200, made.text
    asset = made.json()
    assert asset["id"] != source["id"] and (asset["meta"]["width"], asset["meta"]["height"]) == (100, 80)
    assert asset["metadata"]["derived_from"] == {"asset_ids": [source["id"]], "tool": "crop",
                                                 "settings": {"width": 100, "height": 80}}
    raw = await api.http.post("/v1/tools/convert", headers=headers,
                              json={"asset_id": source["id"], "settings": {"format": "png"}, "save": False})
    assert raw.headers["content-type"] == "image/png" and size(raw.content) == (300, 200)
    missing = await api.http.post("/v1/tools/crop", headers=headers, json={"asset_id": "as_nothing", "settings": {}})
    assert missing.status_code == 404
    neither = await api.http.post("/v1/tools/crop", headers=headers, json={"settings": {}})
    assert neither.status_code == 400 and "asset_id" in neither.json()["error"]["message"]


async def test_a_batch_answers_a_zip_with_every_result_and_the_failures(api: ApiClient) -> None:
    headers = await api.account()
    files = [("files", (f"p{n}.jpg", image_bytes(200 + n, 100), "image/jpeg")) for n in range(5)]
    files.append(("files", ("tiny.png", image_bytes(10, 10, "png"), "image/png")))
    answer = await api.http.post("/v1/tools/crop/batch", headers=headers, files=files,
                                 data={"settings": json.dumps({"width": 50, "height": 20})})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    names = sorted(archive.namelist())
    assert names == ["errors.json", "p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg", "p4.jpg"]
    assert all(size(archive.read(f"p{n}.jpg")) == (50, 20) for n in range(5))
    errors = json.loads(archive.read("errors.json"))
    assert errors[0]["file"] == "tiny.png" and errors[0]["code"] == "tool_settings_invalid"
    combined = await api.http.post("/v1/tools/resize/batch", headers=headers, data={"settings": '{"width": 5}'},
                                   files=[("files", ("a.txt", b"hello world\n", "text/plain"))])
    assert combined.status_code == 400 and combined.json()["error"]["code"] == "tool_input_unsupported"


async def test_a_batch_over_the_limit_is_413(api: ApiClient) -> None:
    api.engine.settings.imaging.max_batch_files = 3
    headers = await api.account()
    files = [("files", (f"p{n}.jpg", image_bytes(20, 20), "image/jpeg")) for n in range(4)]
    answer = await api.http.post("/v1/tools/resize/batch", headers=headers, files=files, data={"settings": '{"width": 5}'})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "tool_too_many_files"


async def test_file_pipelines_run_saved_and_in_batches(api: ApiClient) -> None:
    headers = await api.account()
    steps = [{"toolId": "resize", "settings": {"width": 300}}, {"toolId": "crop", "settings": {"width": 100, "height": 50}},
             {"toolId": "convert", "settings": {"format": "webp"}}]
    photo = {"file": ("photo.jpg", image_bytes(600, 400), "image/jpeg")}
    ran = await api.http.post("/v1/pipeline/execute", headers=headers, files=photo, data={"pipeline": json.dumps(steps)})
    assert ran.status_code == 200, ran.text
    assert ran.headers["content-type"] == "image/webp" and size(ran.content) == (100, 50)
    saved = await api.http.post("/v1/pipeline/save", headers=headers,
                                json={"name": "thumbs", "description": "web thumbnails", "steps": steps})
    assert saved.status_code == 201 and saved.json()["id"].startswith("pl_")
    listed = (await api.http.get("/v1/pipeline/list", headers=headers)).json()["pipelines"]
    assert [p["name"] for p in listed] == ["thumbs"] and listed[0]["steps"][1]["toolId"] == "crop"
    files = [("files", (f"p{n}.jpg", image_bytes(500, 300), "image/jpeg")) for n in range(3)]
    zipped = await api.http.post("/v1/pipeline/batch", headers=headers, files=files, data={"pipelineId": saved.json()["id"]})
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert sorted(archive.namelist()) == ["p0.webp", "p1.webp", "p2.webp"]
    assert size(archive.read("p1.webp")) == (100, 50)
    other = await api.account("someone-else")
    assert (await api.http.get("/v1/pipeline/list", headers=other)).json()["pipelines"] == []
    assert (await api.http.delete(f"/v1/pipeline/{saved.json()['id']}", headers=other)).status_code == 404
    assert (await api.http.delete(f"/v1/pipeline/{saved.json()['id']}", headers=headers)).status_code == 200
    tools = (await api.http.get("/v1/pipeline/tools", headers=headers)).json()["tools"]
    resize = next(tool for tool in tools if tool["id"] == "resize")
    assert resize["takes"] == "one" and "withoutEnlargement" in resize["settings"]["properties"]


async def test_bad_file_pipelines_name_the_step(api: ApiClient) -> None:
    headers = await api.account()
    photo = {"file": ("photo.jpg", image_bytes(60, 40), "image/jpeg")}
    unknown = await api.http.post("/v1/pipeline/execute", headers=headers, files=photo,
                                  data={"pipeline": json.dumps([{"toolId": "resize", "settings": {"width": 9}}, {"toolId": "sparkle"}])})
    assert unknown.status_code == 400 and unknown.json()["error"]["step"] == 2 and "resize" in unknown.json()["error"]["valid"]
    bad = await api.http.post("/v1/pipeline/save", headers=headers,
                              json={"name": "x", "steps": [{"toolId": "convert", "settings": {"format": "bmp"}}]})
    assert bad.status_code == 400 and "(step 1)" in bad.json()["error"]["message"]
    neither = await api.http.post("/v1/pipeline/execute", headers=headers, files=photo)
    assert neither.status_code == 400 and "pipelineId" in neither.json()["error"]["message"]
    long = [{"toolId": "rotate", "settings": {"angle": 90}}] * 21
    too_long = await api.http.post("/v1/pipeline/execute", headers=headers, files=photo, data={"pipeline": json.dumps(long)})
    assert too_long.status_code == 400
    stored = await api.http.post("/v1/pipeline/execute", headers=headers, json={
        "asset_id": "as_missing", "pipeline": [{"toolId": "rotate", "settings": {"angle": 90}}]})
    assert stored.status_code == 404


async def test_a_batch_is_a_job_while_it_runs(api: ApiClient) -> None:
    headers = await api.account()
    files = [("files", (f"p{n}.jpg", image_bytes(120, 80), "image/jpeg")) for n in range(3)]
    answer = await api.http.post("/v1/tools/rotate/batch", headers=headers, files=files, data={"settings": '{"angle": 90}'})
    assert answer.status_code == 200
    job = (await api.http.get(f"/v1/jobs/{answer.headers['x-job-id']}", headers=headers)).json()
    assert job["status"] == "ready" and job["kind"] == "tool.batch" and job["progress"] == 100
    assert job["message"] == "3/3 files"
    other = await api.account("other")
    assert (await api.http.get(f"/v1/jobs/{answer.headers['x-job-id']}", headers=other)).status_code == 404


async def test_a_tool_without_its_model_is_listed_unavailable_and_answers_503(api: ApiClient) -> None:
    headers = await api.account()
    tools = {tool["id"]: tool for tool in (await api.http.get("/v1/pipeline/tools", headers=headers)).json()["tools"]}
    assert tools["upscale"]["available"] is False and tools["upscale"]["enable_with"] == "PICSHA_IMAGING__MODELS__REALESRGAN"
    assert tools["resize"]["available"] is True and "enable_with" not in tools["resize"]
    photo = {"file": ("p.jpg", image_bytes(40, 30), "image/jpeg")}
    missing = await api.http.post("/v1/tools/upscale", headers=headers, files=photo, data={"settings": '{"scale": 2}'})
    assert missing.status_code == 503 and missing.json()["error"]["code"] == "tool_model_missing"
    assert missing.json()["error"]["setting"] == "PICSHA_IMAGING__MODELS__REALESRGAN"
    batch = await api.http.post("/v1/tools/upscale/batch", headers=headers, data={"settings": '{"scale": 2}'},
                                files=[("files", ("p.jpg", image_bytes(40, 30), "image/jpeg"))])
    assert batch.status_code == 503 and "x-job-id" not in batch.headers


async def test_tools_that_make_many_files_run_as_a_job(api: ApiClient) -> None:
    headers = await api.account()
    answer = await api.http.post("/v1/tools/split", headers=headers, data={"settings": '{"mode": "grid", "rows": 2, "cols": 2}'},
                                 files={"file": ("tiles.png", image_bytes(80, 60, "png"), "image/png")})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(answer.content)).namelist()) == 4
    job = (await api.http.get(f"/v1/jobs/{answer.headers['x-job-id']}", headers=headers)).json()
    assert job["kind"] == "tool.run" and job["status"] == "ready"
    quick = await api.http.post("/v1/tools/rotate", headers=headers, data={"settings": '{"angle": 90}'},
                                files={"file": ("a.png", image_bytes(20, 10, "png"), "image/png")})
    assert "x-job-id" not in quick.headers


async def test_an_ai_tool_reports_its_progress_to_its_job(api: ApiClient, tmp_path: Path) -> None:
    api.engine.settings.imaging.models.realesrgan = onnx_models.realesrgan(tmp_path / "realesrgan-x2.onnx", factor=2)
    headers = await api.account()
    answer = await api.http.post("/v1/tools/upscale", headers=headers, data={"settings": '{"scale": 2}'},
                                 files={"file": ("small.png", image_bytes(40, 30, "png"), "image/png")})
    assert answer.status_code == 200, answer.text
    assert size(answer.content) == (80, 60)
    job = (await api.http.get(f"/v1/jobs/{answer.headers['x-job-id']}", headers=headers)).json()
    assert job["kind"] == "tool.run" and job["status"] == "ready" and job["message"] == "upscaling"
