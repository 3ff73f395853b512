"""Layout & Composition: collage, stitch, split, border.

A collage template is a grid of equal units and the cells that span them, so every layout is data; each
picture is fitted into its cell by the render's cover resize (shrink-on-load, attention crop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import pyvips
from pydantic import Field

from engine.errors import InvalidInput
from engine.imaging.adjustments import frame_height
from engine.imaging.chain import render_on
from engine.imaging.essentials import Settings, colour
from engine.imaging.items import EXTENSIONS, Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Wants, Workbench
from engine.imaging.adjustments import split_alpha
from engine.imaging.overlay import lay_over, rounded_box, with_alpha
from engine.render.colour import rgba
from engine.render.params import Fit, Gravity, RenderParams

MAX_TILES = 1000


def check_output(width: int, height: int, bench: Workbench) -> None:
    if width * height > bench.render.max_output_pixels:
        raise InvalidInput(
            f"The output would be {width}x{height}, over the limit of {bench.render.max_output_pixels} pixels. "
            "Use fewer or smaller images, or a smaller size.", code="tool_output_too_large",
            limit=bench.render.max_output_pixels,
        )


def _canvas(width: int, height: int, fill: list[int], bands: int = 4) -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=bands) + fill[:bands]).cast("uchar").copy(interpretation="srgb")


def _srgb(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB, with an alpha band only if it had one."""
    return with_alpha(image) if image.hasalpha() else split_alpha(image)[0]


def _placed(canvas: pyvips.Image, images: Sequence[pyvips.Image], xs: Sequence[int], ys: Sequence[int]) -> pyvips.Image:
    """Images onto the canvas: copied where they are opaque, blended only where they have transparency."""
    for image, x, y in zip(images, xs, ys, strict=True):
        if image.hasalpha():
            canvas = lay_over(canvas, image, x, y)
        else:
            canvas = canvas.insert(with_alpha(image) if canvas.bands == 4 else image, x, y)
    return canvas


def _finished(picture: Picture, image: pyvips.Image) -> Picture:
    """The result, written as PNG when it has transparency the input's format cannot hold."""
    result = picture.with_image(image)
    if image.bands == 4 and result.encoding.format in ("jpeg", "gif"):
        return result.with_encoding(format="png")
    return result


def round_corners(image: pyvips.Image, radius: int) -> pyvips.Image:
    """RGBA with the outside of rounded corners transparent."""
    if radius <= 0:
        return image
    image = with_alpha(image)
    mask = rounded_box(image.width, image.height, radius, [255, 255, 255, 255])[3]
    return image[:3].bandjoin((image[3] * (mask / 255)).cast("uchar"))


# -- collage -------------------------------------------------------------------------------------

Cell = tuple[int, int, int, int]  # column, row, columns spanned, rows spanned


@dataclass(frozen=True)
class Layout:
    columns: int
    rows: int
    cells: tuple[Cell, ...]


def _grid(columns: int, rows: int) -> Layout:
    return Layout(columns, rows, tuple((c, r, 1, 1) for r in range(rows) for c in range(columns)))


def _big_and_side(count: int, *, side: str) -> Layout:
    """One large picture and ``count`` small ones stacked along one side of it."""
    small = tuple((count, i, 1, 1) for i in range(count))
    big: Cell = (0, 0, count, count)
    if side == "left":  # the small ones on the left
        return Layout(count + 1, count, ((1, 0, count, count), *((0, i, 1, 1) for i in range(count))))
    if side == "right":
        return Layout(count + 1, count, (big, *small))
    if side == "bottom":
        return Layout(count, count + 1, (big, *((i, count, 1, 1) for i in range(count))))
    return Layout(count, count + 1, ((0, 1, count, count), *((i, 0, 1, 1) for i in range(count))))  # top


def _two_rows(top: int, bottom: int) -> Layout:
    """``top`` pictures over ``bottom`` pictures, each row shared equally (on a common unit grid)."""
    units = math.lcm(top, bottom)
    cells = [(i * units // top, 0, units // top, 1) for i in range(top)]
    cells += [(i * units // bottom, 1, units // bottom, 1) for i in range(bottom)]
    return Layout(units, 2, tuple(cells))


class Template(StrEnum):
    GRID_2X2 = "grid-2x2"
    GRID_2X3 = "grid-2x3"
    GRID_3X2 = "grid-3x2"
    GRID_3X3 = "grid-3x3"
    GRID_4X3 = "grid-4x3"
    GRID_4X4 = "grid-4x4"
    COLUMNS_2 = "columns-2"
    COLUMNS_3 = "columns-3"
    COLUMNS_4 = "columns-4"
    ROWS_2 = "rows-2"
    ROWS_3 = "rows-3"
    ROWS_4 = "rows-4"
    ONE_TWO = "1+2"
    TWO_ONE = "2+1"
    ONE_THREE = "1+3"
    THREE_ONE = "3+1"
    ONE_FOUR = "1+4"
    TOP_TWO = "1+2-vertical"
    TOP_THREE = "1+3-vertical"
    BOTTOM_TWO = "2+1-vertical"
    BOTTOM_THREE = "3+1-vertical"
    TWO_THREE = "2+3"
    THREE_TWO = "3+2"
    THREE_FOUR = "3+4"
    FEATURE_5 = "feature-5"
    FEATURE_6 = "feature-6"
    CENTER_4 = "center-4"


LAYOUTS: dict[Template, Layout] = {
    Template.GRID_2X2: _grid(2, 2), Template.GRID_2X3: _grid(2, 3), Template.GRID_3X2: _grid(3, 2),
    Template.GRID_3X3: _grid(3, 3), Template.GRID_4X3: _grid(4, 3), Template.GRID_4X4: _grid(4, 4),
    Template.COLUMNS_2: _grid(2, 1), Template.COLUMNS_3: _grid(3, 1), Template.COLUMNS_4: _grid(4, 1),
    Template.ROWS_2: _grid(1, 2), Template.ROWS_3: _grid(1, 3), Template.ROWS_4: _grid(1, 4),
    Template.ONE_TWO: _big_and_side(2, side="right"), Template.TWO_ONE: _big_and_side(2, side="left"),
    Template.ONE_THREE: _big_and_side(3, side="right"), Template.THREE_ONE: _big_and_side(3, side="left"),
    Template.ONE_FOUR: Layout(4, 2, ((0, 0, 2, 2), (2, 0, 1, 1), (3, 0, 1, 1), (2, 1, 1, 1), (3, 1, 1, 1))),
    Template.TOP_TWO: _big_and_side(2, side="bottom"), Template.TOP_THREE: _big_and_side(3, side="bottom"),
    Template.BOTTOM_TWO: _big_and_side(2, side="top"), Template.BOTTOM_THREE: _big_and_side(3, side="top"),
    Template.TWO_THREE: _two_rows(2, 3), Template.THREE_TWO: _two_rows(3, 2), Template.THREE_FOUR: _two_rows(3, 4),
    # one large picture in a corner of a 3x3 grid, the rest around it
    Template.FEATURE_5: Layout(3, 3, ((0, 0, 2, 2), (2, 0, 1, 2), (0, 2, 1, 1), (1, 2, 1, 1), (2, 2, 1, 1))),
    Template.FEATURE_6: Layout(3, 3, ((0, 0, 2, 2), (2, 0, 1, 1), (2, 1, 1, 1), (0, 2, 1, 1), (1, 2, 1, 1), (2, 2, 1, 1))),
    # a large centre picture between two narrow columns of two
    Template.CENTER_4: Layout(4, 2, ((1, 0, 2, 2), (0, 0, 1, 1), (0, 1, 1, 1), (3, 0, 1, 1), (3, 1, 1, 1))),
}


class CollageSettings(Settings):
    template: Template = Field(default=Template.GRID_2X2, description="Layout; pictures fill its cells in order.")
    width: int = Field(default=1200, ge=100, le=8192, description="Collage width, pixels.")
    height: int | None = Field(default=None, ge=100, le=8192, description="Collage height (default: square units).")
    gap: int = Field(default=8, ge=0, le=500, description="Space between and around cells, pixels.")
    backgroundColor: str = Field(default="#ffffff", max_length=32, description="Shows in gaps and empty cells.")
    borderRadius: int = Field(default=0, ge=0, le=2000, description="Corner radius of each cell, pixels.")


def _cell_boxes(layout: Layout, width: int, height: int, gap: int) -> list[tuple[int, int, int, int]]:
    unit_w = (width - gap * (layout.columns + 1)) / layout.columns
    unit_h = (height - gap * (layout.rows + 1)) / layout.rows
    if unit_w < 1 or unit_h < 1:
        raise InvalidInput(f"A gap of {gap} px leaves no room for the cells of a {width}x{height} collage.",
                           code="tool_settings_invalid", field="gap")
    boxes = []
    for column, row, span_c, span_r in layout.cells:
        left, top = round(gap + column * (unit_w + gap)), round(gap + row * (unit_h + gap))
        right = round(gap + (column + span_c) * (unit_w + gap) - gap)
        bottom = round(gap + (row + span_r) * (unit_h + gap) - gap)
        boxes.append((left, top, max(1, right - left), max(1, bottom - top)))
    return boxes


def collage(items: Sequence[Item], settings: CollageSettings, bench: Workbench) -> Picture:
    layout = LAYOUTS[settings.template]
    if len(items) > len(layout.cells):
        raise InvalidInput(f"{settings.template.value} has {len(layout.cells)} cells; it was given {len(items)} files.",
                           code="tool_input_count", cells=len(layout.cells))
    width = settings.width
    height = settings.height or round(width * layout.rows / layout.columns)
    check_output(width, height, bench)
    fill = rgba(colour(settings.backgroundColor, "backgroundColor"))
    canvas = _canvas(width, height, fill, 4 if fill[3] < 255 else 3)
    cells, xs, ys = [], [], []
    first: Picture | None = None
    for item, (left, top, w, h) in zip(items, _cell_boxes(layout, width, height, settings.gap), strict=False):
        fitted = render_on(item, RenderParams(w=w, h=h, fit=Fit.COVER, gravity=Gravity.ATTENTION), bench)
        first = first or fitted
        image = fitted.image.crop(0, 0, fitted.image.width, frame_height(fitted.image))
        cells.append(round_corners(_srgb(image), settings.borderRadius))
        xs.append(left)
        ys.append(top)
    assert first is not None
    joined = _placed(canvas, cells, xs, ys)
    return _finished(replace(first, filename=f"collage{Path(first.filename).suffix}"), joined)


COLLAGE = Operation(settings=CollageSettings, takes=Takes.MANY, gives=Gives.FILE, apply=collage, wants=Wants.ANY)


# -- stitch --------------------------------------------------------------------------------------


class Direction(StrEnum):
    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"
    GRID = "grid"


class Alignment(StrEnum):
    START = "start"
    CENTER = "center"
    END = "end"


_ALIGN = {Alignment.START: 0.0, Alignment.CENTER: 0.5, Alignment.END: 1.0}


class StitchSettings(Settings):
    direction: Direction = Field(default=Direction.HORIZONTAL, description="Side by side, one above another, or a grid.")
    gap: int = Field(default=0, ge=0, le=1000, description="Space between images, pixels.")
    backgroundColor: str = Field(default="#ffffff", max_length=32, description="Fills gaps and uneven edges.")
    alignment: Alignment = Field(default=Alignment.CENTER, description="Where smaller images sit across the direction.")
    matchSize: bool = Field(default=False, description="Scale all to the first one's height (horizontal) or width.")


def _matched(pictures: list[Picture], direction: Direction, bench: Workbench) -> list[Picture]:
    first = pictures[0].image
    if direction is Direction.HORIZONTAL:
        return [render_on(p, RenderParams(h=frame_height(first)), bench) for p in pictures]
    return [render_on(p, RenderParams(w=first.width), bench) for p in pictures]


def stitch(items: Sequence[Item], settings: StitchSettings, bench: Workbench) -> Picture:
    pictures = [item for item in items if isinstance(item, Picture)]
    if settings.matchSize and settings.direction is not Direction.GRID:
        pictures = _matched(pictures, settings.direction, bench)
    images = [_srgb(p.image.crop(0, 0, p.image.width, frame_height(p.image))) for p in pictures]
    count, gap = len(images), settings.gap
    across = {Direction.HORIZONTAL: count, Direction.VERTICAL: 1}.get(settings.direction, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / across)
    col_w = [max(images[i].width for i in range(c, count, across)) for c in range(across)]
    row_h = [max(image.height for image in images[r * across:(r + 1) * across]) for r in range(rows)]
    width, height = sum(col_w) + gap * (across - 1), sum(row_h) + gap * (rows - 1)
    check_output(width, height, bench)
    share = _ALIGN[settings.alignment]
    xs, ys = [], []
    for index, image in enumerate(images):
        row, column = divmod(index, across)
        left, top = sum(col_w[:column]) + gap * column, sum(row_h[:row]) + gap * row
        xs.append(left + round((col_w[column] - image.width) * share))
        ys.append(top + round((row_h[row] - image.height) * share))
    fill = rgba(colour(settings.backgroundColor, "backgroundColor"))
    joined = _placed(_canvas(width, height, fill, 4 if fill[3] < 255 else 3), images, xs, ys)
    first = pictures[0]
    return _finished(replace(first, filename=f"stitched{Path(first.filename).suffix}"), joined)


STITCH = Operation(settings=StitchSettings, takes=Takes.MANY, gives=Gives.FILE, apply=stitch)


# -- split ---------------------------------------------------------------------------------------


class SplitMode(StrEnum):
    GRID = "grid"
    ROWS = "rows"
    COLS = "cols"


class SplitSettings(Settings):
    mode: SplitMode = Field(default=SplitMode.GRID, description="grid: rows x cols; rows or cols: strips only.")
    rows: int = Field(default=2, ge=1, le=100, description="Number of rows (grid, rows).")
    cols: int = Field(default=2, ge=1, le=100, description="Number of columns (grid, cols).")
    tileWidth: int | None = Field(default=None, ge=1, le=8192, description="Tiles of this width instead (last may be narrower).")
    tileHeight: int | None = Field(default=None, ge=1, le=8192, description="Tiles of this height instead.")


def _cuts(length: int, parts: int, tile: int | None) -> list[tuple[int, int]]:
    """(start, size) along one side: ``parts`` equal parts, or steps of ``tile`` pixels."""
    if tile is not None:
        return [(start, min(tile, length - start)) for start in range(0, length, tile)]
    parts = min(parts, length)
    edges = [round(i * length / parts) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1] - edges[i]) for i in range(parts)]


def split(items: Sequence[Item], settings: SplitSettings, bench: Workbench) -> list[Picture]:
    picture = items[0]
    assert isinstance(picture, Picture)
    image = picture.image.crop(0, 0, picture.image.width, frame_height(picture.image))  # the first frame
    rows = 1 if settings.mode is SplitMode.COLS else settings.rows
    cols = 1 if settings.mode is SplitMode.ROWS else settings.cols
    across, down = _cuts(image.width, cols, settings.tileWidth), _cuts(image.height, rows, settings.tileHeight)
    if len(across) * len(down) > MAX_TILES:
        raise InvalidInput(f"That makes {len(across) * len(down)} tiles; at most {MAX_TILES}.",
                           code="tool_settings_invalid", limit=MAX_TILES)
    stem, ext = Path(picture.filename).stem, EXTENSIONS.get(picture.encoding.format, picture.encoding.format)
    return [
        replace(picture, image=image.crop(left, top, width, height), filename=f"{stem}_r{r + 1}_c{c + 1}.{ext}")
        for r, (top, height) in enumerate(down) for c, (left, width) in enumerate(across)
    ]


SPLIT = Operation(settings=SplitSettings, takes=Takes.ONE, gives=Gives.FILES, apply=split)


# -- border --------------------------------------------------------------------------------------


class BorderStyle(StrEnum):
    SOLID = "solid"
    GRADIENT = "gradient"
    PATTERN = "pattern"


class BorderSettings(Settings):
    width: int = Field(default=20, ge=0, le=1000, description="Border width, pixels.")
    color: str = Field(default="#000000", max_length=32, description="Border colour.")
    secondColor: str = Field(default="#ffffff", max_length=32, description="Gradient end or pattern's second colour.")
    style: BorderStyle = Field(default=BorderStyle.SOLID, description="gradient: diagonal; pattern: diagonal stripes.")
    borderRadius: int = Field(default=0, ge=0, le=4000, description="Outer corner radius; outside is transparent (PNG).")
    padding: int = Field(default=0, ge=0, le=1000, description="Matte between picture and border, pixels.")
    paddingColor: str = Field(default="#ffffff", max_length=32, description="Matte colour.")
    shadow: bool = Field(default=False, description="A soft drop shadow (transparent around it, PNG).")


def _frame_fill(width: int, height: int, settings: BorderSettings) -> pyvips.Image:
    first, second = rgba(colour(settings.color, "color")), rgba(colour(settings.secondColor, "secondColor"))
    if settings.style is BorderStyle.SOLID:
        return _canvas(width, height, first)
    xy = pyvips.Image.xyz(width, height)
    if settings.style is BorderStyle.GRADIENT:
        share = (xy[0] / max(width - 1, 1) + xy[1] / max(height - 1, 1)) / 2
    else:
        stripe = max(4, settings.width // 2)
        share = (((xy[0] + xy[1]) / stripe).floor() % 2)
    start = pyvips.Image.black(width, height, bands=4) + first
    return (start + share * [b - a for a, b in zip(first, second, strict=True)]).cast("uchar").copy(interpretation="srgb")


def _shadowed(image: pyvips.Image) -> pyvips.Image:
    reach = max(6, min(image.width, image.height) // 30)
    size = (image.width + 3 * reach, image.height + 3 * reach)
    shade = (image[3] * 0.5).cast("uchar").embed(reach * 2, reach * 2, *size).gaussblur(reach / 2).cast("uchar")
    shadow = pyvips.Image.black(*size, bands=3).cast("uchar").bandjoin(shade).copy(interpretation="srgb")
    return shadow.composite2(image, "over", x=reach, y=reach).cast("uchar")


def border(items: Sequence[Item], settings: BorderSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    image = _srgb(picture.image.crop(0, 0, picture.image.width, frame_height(picture.image)))
    inner = settings.width + settings.padding
    width, height = image.width + 2 * inner, image.height + 2 * inner
    check_output(width, height, bench)
    colours = [rgba(colour(value, name)) for name, value in (("color", settings.color), ("secondColor", settings.secondColor),
                                                              ("paddingColor", settings.paddingColor))]
    clear = image.hasalpha() or any(fill[3] < 255 for fill in colours) or settings.borderRadius > 0 or settings.shadow
    bands, pad, edge = (4 if clear else 3), settings.padding, settings.width
    if not clear and settings.style is BorderStyle.SOLID:  # plain embeds: no canvas is drawn
        matte = image.embed(pad, pad, image.width + 2 * pad, image.height + 2 * pad, extend="background",
                            background=colours[2][:3])
        framed = matte.embed(edge, edge, width, height, extend="background", background=colours[0][:3])
    else:
        matte = _placed(_canvas(image.width + 2 * pad, image.height + 2 * pad, colours[2], bands), [image], [pad], [pad])
        framed = _frame_fill(width, height, settings)
        framed = (framed if bands == 4 else framed.extract_band(0, n=3)).insert(matte, edge, edge)
    framed = round_corners(framed, settings.borderRadius)
    if settings.shadow:
        framed = _shadowed(with_alpha(framed))
    return _finished(picture, framed)


BORDER = Operation(settings=BorderSettings, takes=Takes.ONE, gives=Gives.FILE, apply=border, streams=True)
