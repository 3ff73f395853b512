"""collage, stitch, split and border: where each input lands, read from the decoded output's pixels."""

from __future__ import annotations

import pytest
import pyvips
from pydantic import ValidationError

from engine.errors import InvalidInput
from engine.imaging import ImageFile, Workbench
from engine.imaging.layout import LAYOUTS, Template
from engine.render.settings import RenderSettings
from tests.engine.imaging.conftest import RunTool, Stage, decoded
from tests.engine.imaging.test_adjustments import solid
from tests.engine.imaging.test_essentials import one

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def near(value: list[float], rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(value[:3], rgb, strict=True))


def test_every_template_covers_its_canvas_without_overlaps() -> None:
    assert len(LAYOUTS) == len(Template) >= 25
    for template, layout in LAYOUTS.items():
        covered = [[0] * layout.columns for _ in range(layout.rows)]
        for column, row, span_c, span_r in layout.cells:
            for r in range(row, row + span_r):
                for c in range(column, column + span_c):
                    covered[r][c] += 1
        assert all(count == 1 for line in covered for count in line), template


def test_collage_places_each_file_in_its_cell(stage: Stage, run_tool: RunTool) -> None:
    files = [stage(solid(300, 200, colour), f"{name}.png") for name, colour in (("r", RED), ("g", GREEN), ("b", BLUE))]
    made = one(run_tool("collage", files, {"template": "1+2", "width": 600, "height": 400, "gap": 10,
                                           "backgroundColor": "#000000"}))
    image = decoded(made)
    assert (image.width, image.height) == (600, 400) and made.filename == "collage.png"
    assert near(image.getpoint(200, 200), RED)  # the large cell: two of the three columns
    assert near(image.getpoint(500, 100), GREEN) and near(image.getpoint(500, 300), BLUE)
    assert near(image.getpoint(5, 5), (0, 0, 0)) and near(image.getpoint(398, 200), (0, 0, 0))  # gaps
    grid = decoded(one(run_tool("collage", files, {"template": "grid-2x2", "width": 400, "gap": 0,
                                                   "backgroundColor": "#ffffff", "borderRadius": 40})))
    assert (grid.width, grid.height) == (400, 400)
    assert near(grid.getpoint(100, 100), RED) and near(grid.getpoint(300, 300), (255, 255, 255))  # 4th cell empty
    assert near(grid.getpoint(1, 1), (255, 255, 255))  # the rounded corner shows the background
    clear = one(run_tool("collage", files[:2], {"template": "columns-2", "width": 400, "gap": 20,
                                               "backgroundColor": "#00000000"}))
    assert clear.media_type == "image/png" and decoded(clear).getpoint(10, 10)[3] == 0
    assert decoded(clear).getpoint(100, 100)[3] == 255
    with pytest.raises(InvalidInput) as many:
        run_tool("collage", files, {"template": "columns-2"})
    assert many.value.code == "tool_input_count" and "2 cells" in many.value.message
    with pytest.raises(ValidationError):
        run_tool("collage", files, {"template": "spiral"})


def test_stitch_joins_at_their_own_sizes_with_alignment(stage: Stage, run_tool: RunTool) -> None:
    tall, short = stage(solid(100, 200, RED), "tall.png"), stage(solid(50, 100, BLUE), "short.png")
    side = decoded(one(run_tool("stitch", [tall, short], {"gap": 10, "alignment": "end",
                                                         "backgroundColor": "#00ff00"})))
    assert (side.width, side.height) == (160, 200)
    assert near(side.getpoint(50, 100), RED) and near(side.getpoint(105, 100), GREEN)
    assert near(side.getpoint(130, 50), GREEN) and near(side.getpoint(130, 150), BLUE)  # aligned to the bottom
    stacked = decoded(one(run_tool("stitch", [tall, short], {"direction": "vertical"})))
    assert (stacked.width, stacked.height) == (100, 300) and near(stacked.getpoint(50, 250), BLUE)
    matched = decoded(one(run_tool("stitch", [tall, short], {"matchSize": True})))
    assert (matched.width, matched.height) == (200, 200)
    grid = decoded(one(run_tool("stitch", [tall, short, short, tall], {"direction": "grid", "alignment": "start"})))
    assert (grid.width, grid.height) == (200, 400) and near(grid.getpoint(120, 50), BLUE)


def test_stitch_is_bounded_by_the_output_limit(stage: Stage, run_tool: RunTool) -> None:
    small = Workbench(render=RenderSettings(max_output_pixels=10_000))
    files = [stage(solid(100, 100, RED), "a.png"), stage(solid(100, 100, BLUE), "b.png")]
    with pytest.raises(InvalidInput) as big:
        run_tool("stitch", files, {}, workbench=small)
    assert big.value.code == "tool_output_too_large"


def test_split_gives_named_tiles_that_put_back_make_the_image(stage: Stage, run_tool: RunTool) -> None:
    left = pyvips.Image.new_from_buffer(solid(50, 60, RED), "")
    right = pyvips.Image.new_from_buffer(solid(50, 60, BLUE), "")
    file = stage(left.join(right, "horizontal").jpegsave_buffer(Q=95), "art.jpg")
    tiles = run_tool("split", [file], {"mode": "grid", "rows": 2, "cols": 2})
    assert isinstance(tiles, list) and [t.filename for t in tiles] == ["art_r1_c1.jpg", "art_r1_c2.jpg",
                                                                       "art_r2_c1.jpg", "art_r2_c2.jpg"]
    assert all(isinstance(t, ImageFile) and t.media_type == "image/jpeg" for t in tiles)
    assert [(decoded(t).width, decoded(t).height) for t in tiles] == [(50, 30)] * 4
    assert near(decoded(tiles[0]).getpoint(25, 15), RED) and near(decoded(tiles[1]).getpoint(25, 15), BLUE)
    strips = run_tool("split", [file], {"mode": "cols", "cols": 3})
    assert [decoded(t).width for t in strips] == [33, 34, 33] and all(decoded(t).height == 60 for t in strips)
    sized = run_tool("split", [file], {"tileWidth": 40, "tileHeight": 60})
    assert [decoded(t).width for t in sized] == [40, 40, 20]
    with pytest.raises(InvalidInput):
        run_tool("split", [stage(solid(2000, 2000, RED), "big.png")], {"tileWidth": 10, "tileHeight": 10})


def test_border_styles_radius_and_shadow(stage: Stage, run_tool: RunTool) -> None:
    photo = stage(solid(100, 80, (200, 200, 200), ".jpg"), "photo.jpg")
    framed = one(run_tool("border", [photo], {"width": 10, "color": "#ff0000", "padding": 5}))
    image = decoded(framed)
    assert framed.media_type == "image/jpeg" and (image.width, image.height) == (130, 110)
    assert near(image.getpoint(3, 50), RED) and near(image.getpoint(12, 50), (255, 255, 255))
    assert near(image.getpoint(65, 55), (200, 200, 200))
    gradient = decoded(one(run_tool("border", [photo], {"width": 10, "style": "gradient", "color": "#000000",
                                                        "secondColor": "#ffffff"})))
    assert gradient.getpoint(0, 0)[0] < 20 and gradient.getpoint(119, 99)[0] > 235
    striped = decoded(one(run_tool("border", [photo], {"width": 16, "style": "pattern", "color": "#000000",
                                                       "secondColor": "#ffffff"})))
    assert {round(striped.getpoint(x, 2)[0] / 255) for x in range(0, 30)} == {0, 1}
    rounded = one(run_tool("border", [photo], {"width": 10, "borderRadius": 30, "shadow": True}))
    shaped = decoded(rounded)
    assert rounded.media_type == "image/png" and shaped.hasalpha() and shaped.width > 120
    assert shaped.getpoint(1, 1)[3] == 0 and shaped.getpoint(shaped.width // 2, shaped.height // 2)[3] == 255
    with pytest.raises(ValidationError):
        run_tool("border", [photo], {"style": "dotted"})
