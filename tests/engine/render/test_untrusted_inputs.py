"""Render inputs from users: SVG never reaches out, and a watermark is a checked raster image like a source."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pyvips

from engine import Engine
from engine.auth import Principal
from engine.errors import PicshaError
from engine.render import RenderParams
from engine.render.context import RenderContext
from tests.conftest import ApiClient
from tests.engine.render.conftest import decode
from tests.factories import image_bytes, pdf_bytes

Add = Callable[..., Any]
Render = Callable[..., RenderContext]


class _Recorder(BaseHTTPRequestHandler):
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.asked.append(self.path)
        body = image_bytes(20, 20, "png")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def listener() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _svg_referring_to(*hrefs: str) -> bytes:
    images = "".join(f'<image xlink:href="{href}" width="20" height="20"/>' for href in hrefs)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20">'
        f'<style>@import url("{hrefs[0]}/style.css");</style>{images}</svg>'
    ).encode()


def test_an_svg_source_never_fetches_what_it_refers_to(render_file: Render, listener: str, tmp_path: Any) -> None:
    (tmp_path / "secret.png").write_bytes(image_bytes(20, 20, "png"))
    svg = _svg_referring_to(f"{listener}/img.png", f"file://{tmp_path}/secret.png", "secret.png")
    pixels = decode(render_file(svg, "svg", w=20).data)
    assert _Recorder.asked == [], "no request left the rasteriser"
    assert pixels.extract_band(3).max() == 0, "nothing referenced was drawn"


async def _refused(engine: Engine, owner: Principal, source_id: str, mark_id: str) -> PicshaError:
    with pytest.raises(PicshaError) as caught:
        await engine.render.render(source_id, RenderParams(w=100, watermark_asset=mark_id), principal=owner, accept=None)
    assert 400 <= caught.value.status < 500 and caught.value.details["param"] == "watermark_asset"
    return caught.value


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (pdf_bytes(1), "mark.pdf"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="9" height="9">'
         b'<image xlink:href="http://169.254.169.254/latest/meta-data/" width="9" height="9"/></svg>', "logo.svg"),
        (b"<html><body>not a picture</body></html>", "logo.png"),
    ],
    ids=["pdf", "svg-with-external-ref", "text-named-png"],
)
async def test_a_watermark_that_is_not_a_raster_image_is_refused(
    engine: Engine, owner: Principal, add_asset: Add, data: bytes, name: str
) -> None:
    source = await add_asset(image_bytes(300, 200), "photo.jpg")
    mark = await add_asset(data, name)
    error = await _refused(engine, owner, source.id, mark.id)
    assert error.status == 400 and error.code == "watermark_asset_not_image" and "raster image" in error.message


async def test_a_watermark_over_the_pixel_limit_is_refused_before_decoding(
    engine: Engine, owner: Principal, add_asset: Add
) -> None:
    source = await add_asset(image_bytes(200, 150), "photo.jpg")
    mark = await add_asset(image_bytes(1200, 1000, "png"), "huge-logo.png")
    engine.render.settings = engine.render.settings.model_copy(update={"max_input_pixels": 1_000_000})
    error = await _refused(engine, owner, source.id, mark.id)
    assert error.code == "render_input_too_large" and error.message.startswith("The watermark asset:")


def test_a_watermark_whose_bytes_are_another_format_is_refused(render_file: Render) -> None:
    """The loader is pinned to the stored format: a JPEG recorded as PNG is not decoded on libvips' guess."""
    with pytest.raises(PicshaError) as caught:
        render_file(image_bytes(200, 150, "png"), "png", overlay=(image_bytes(40, 40), "png"), watermark_asset="as_logo")
    assert caught.value.code == "render_format_unsupported" and caught.value.details["param"] == "watermark_asset"


async def test_a_raster_watermark_still_works(engine: Engine, owner: Principal, add_asset: Add) -> None:
    black = pyvips.Image.black(400, 300).new_from_image([0, 0, 0]).copy(interpretation="srgb").pngsave_buffer()
    white = pyvips.Image.black(50, 50).new_from_image([255, 255, 255]).copy(interpretation="srgb").pngsave_buffer()
    source, mark = await add_asset(black, "black.png"), await add_asset(white, "logo.png")
    params = RenderParams(w=400, format="png", watermark_asset=mark.id, watermark_opacity=100, watermark_position="northwest")
    result = await engine.render.render(source.id, params, principal=owner, accept=None)
    image = decode(await engine.render.read(result))
    assert image.crop(10, 10, 50, 50).min() > 240 and image.crop(300, 200, 90, 90).max() == 0


async def test_the_rest_answer_names_the_problem(api: ApiClient) -> None:
    headers = await api.account()
    uploads = []
    for data, name in ((image_bytes(300, 200), "photo.jpg"), (pdf_bytes(1), "mark.pdf")):
        response = await api.http.post("/v1/assets", headers=headers, files={"file": (name, data)})
        uploads.append(response.json()["id"])
    answer = await api.http.get(f"/v1/assets/{uploads[0]}/render?w=50&watermark_asset={uploads[1]}", headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "watermark_asset_not_image"
