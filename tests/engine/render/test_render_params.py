"""RenderParams: one parser, bounds, errors that name the valid values, and a stable normalised form."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.render.params import Fit, Gravity, OutputFormat, RenderParams


def test_query_strings_parse_into_typed_values() -> None:
    params = RenderParams.from_query({
        "w": "300", "h": "200", "fit": "contain", "gravity": "northeast", "focus": "0.25, 0.75",
        "crop": "1,2,30,40", "format": "avif", "q": "70", "dpr": "2", "rotate": "270", "flip": "both",
        "blur": "1.5", "sharpen": "0.5", "bg": "#0f0", "strip": "false", "watermark": "© Acme",
        "watermark_position": "southwest", "watermark_opacity": "30", "watermark_size": "24",
        "page": "3", "download": "true", "kid": "k1", "sig": "abc", "exp": "99",
    })
    assert (params.w, params.h, params.fit, params.gravity) == (300, 200, Fit.CONTAIN, Gravity.NORTHEAST)
    assert params.focus == (0.25, 0.75) and params.crop == (1, 2, 30, 40)
    assert params.format is OutputFormat.AVIF and params.q == 70 and params.dpr == 2.0
    assert params.rotate == 270 and params.bg == "00ff00ff" and params.strip is False and params.download is True


@pytest.mark.parametrize(
    ("query", "valid_fragment"),
    [
        ({"w": "0"}, "1 to 8192"),
        ({"h": "9000"}, "1 to 8192"),
        ({"fit": "zoom"}, "cover, contain, fill, inside, outside"),
        ({"gravity": "up"}, "attention, entropy, face"),
        ({"format": "bmp"}, "auto, webp, avif, jpeg, png, gif"),
        ({"q": "101"}, "1 to 100, or auto"),
        ({"dpr": "5"}, "1 to 4"),
        ({"rotate": "45"}, "0, 90, 180 or 270"),
        ({"flip": "x"}, "h, v, both"),
        ({"focus": "2,0"}, "fractions"),
        ({"crop": "1,2,3"}, "x,y,w,h"),
        ({"bg": "mauve-ish"}, "#rrggbb"),
        ({"watermark_opacity": "200"}, "0 to 100"),
        ({"watermark_asset": "not-an-id"}, "as_"),
        ({"page": "0"}, "page number"),
    ],
)
def test_out_of_range_values_get_400_naming_the_valid_values(query: dict[str, str], valid_fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RenderParams.from_query(query)
    error = caught.value
    assert error.status == 400 and error.code == "render_param_invalid"
    assert error.details["param"] == next(iter(query)) and valid_fragment in error.message


def test_unknown_parameters_are_refused_with_the_list_of_valid_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        RenderParams.from_query({"width": "100"})
    assert caught.value.code == "render_param_unknown" and "w" in caught.value.details["valid"]


def test_spellings_of_the_same_request_normalise_to_one_query_and_one_key() -> None:
    one = RenderParams.from_query({"w": "300", "dpr": "2.0", "bg": "FFF", "q": "auto", "fit": "cover"})
    two = RenderParams.from_query({"bg": "#ffffff", "dpr": "2", "w": "0300"})
    assert one.to_query() == two.to_query() == {"bg": "ffffffff", "dpr": "2", "w": "300"}
    assert one.cache_key("webp") == two.cache_key("webp") != one.cache_key("avif")
    assert RenderParams.parse(one.to_query()) == one


def test_download_does_not_change_the_derivative_key() -> None:
    plain, download = RenderParams(w=10), RenderParams(w=10, download=True)
    assert plain.cache_key("png") == download.cache_key("png") and plain.to_query() != download.to_query()
