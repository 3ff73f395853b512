"""Each analyzer on real photos (skimage, scikit-learn) and rendered text."""

from __future__ import annotations

import numpy as np

from engine.enrich import colors, ocr, offline_writer, regions, safety
from engine.enrich.derived_text import derived_text
from engine.enrich.source import AssetRecord
from tests.engine.enrich.conftest import photo, text_image


def test_colors_name_the_dominant_tones_of_a_photo(chelsea: np.ndarray) -> None:
    found = colors.describe_colors(chelsea)
    assert abs(sum(c["fraction"] for c in found["colors"]) - 1) < 0.01
    assert found["colors"][0]["fraction"] >= found["colors"][-1]["fraction"]
    assert {"brown", "orange", "gray"} & {c["name"] for c in found["colors"][:3]}  # a ginger cat on grey
    assert all(c["hex"].startswith("#") and len(c["hex"]) == 7 for c in found["colors"])


def test_perceptual_hash_survives_resizing_but_tells_photos_apart(chelsea: np.ndarray) -> None:
    import pyvips

    half = pyvips.Image.new_from_array(chelsea).resize(0.5)
    smaller = np.ndarray(buffer=half.write_to_memory(), dtype=np.uint8, shape=[half.height, half.width, 3])
    same = colors.perceptual_hash(chelsea), colors.perceptual_hash(smaller)
    other = colors.perceptual_hash(photo("coffee"))

    def distance(a: str, b: str) -> int:
        return bin(int(a, 16) ^ int(b, 16)).count("1")

    assert len(same[0]) == 16
    assert distance(*same) <= 6 and distance(same[0], other) >= 16


def test_ocr_reads_rendered_text() -> None:
    text = ocr.read_text([text_image(["INVOICE 4471", "ZEBRA CROSSING"])])
    assert "INVOICE 4471" in text and "ZEBRA" in text


def test_ocr_finds_nothing_in_a_photo_without_words(chelsea: np.ndarray) -> None:
    assert "ZEBRA" not in ocr.read_text([chelsea])


def test_faces_are_counted_and_boxed(astronaut: np.ndarray, chelsea: np.ndarray) -> None:
    found = regions.find_regions(astronaut, face_threshold=0.4, region_threshold=0.5)
    assert found["faces"]["count"] == 1
    box = found["faces"]["boxes"][0]
    # Eileen Collins' face sits around x 170-280, y 80-180 in skimage's 512x512 astronaut.
    assert 140 < box["x"] + box["w"] / 2 < 300 and 60 < box["y"] + box["h"] / 2 < 220 and 0 < box["score"] <= 1
    assert found["explicit"] == []
    assert regions.find_regions(chelsea, face_threshold=0.4, region_threshold=0.5)["faces"]["count"] == 0


def test_safe_search_verifies_ordinary_photos_and_flags_with_a_reason(astronaut: np.ndarray) -> None:
    verdict = safety.judge(astronaut, [], threshold=0.7)
    assert verdict["safe_search"] == "verified" and verdict["reason"] is None and 0 <= verdict["nsfw_score"] < 0.7
    flagged = safety.judge(astronaut, ["female_breast_exposed"], threshold=0.7)
    assert flagged["safe_search"] == "flagged" and "female_breast_exposed" in flagged["reason"]
    strict = safety.judge(astronaut, [], threshold=0.0)
    assert strict["safe_search"] == "flagged" and "nsfw score" in strict["reason"]


def _record(**fields: object) -> AssetRecord:
    base: dict[str, object] = dict(id="as_1", account_id="acct", type="image", format="jpeg", filename="IMG_0001.jpg",
                                   status="ready", created_at=None)
    return AssetRecord(**(base | fields))  # type: ignore[arg-type]


def test_offline_caption_is_built_from_the_findings() -> None:
    record = _record(location={"lat": 52.2, "lon": 0.12, "label": "Cambridge, England, GB"})
    ai = {"tags": ["tabby cat"], "faces": {"count": 2}, "colors": [{"name": "orange"}], "ocr_text": "HELLO"}
    caption = offline_writer.caption_image(record, ai)
    assert caption == ('A photo of tabby cat with 2 faces in mostly orange tones showing the text "HELLO" '
                       "taken near Cambridge, England, GB.")
    assert offline_writer.caption_image(_record(), {}) == "An image."


def test_offline_summary_is_extractive_and_in_document_order() -> None:
    text = (
        "The quarterly report covers revenue growth across all regions. Weather was pleasant on Tuesday. "
        "Revenue growth in the northern regions doubled compared with last quarter. "
        "The cafeteria menu changed. Regions with revenue growth will receive more budget next quarter."
    )
    summary = offline_writer.summarize(text, sentences=2)
    sentences = [s for s in summary.split(". ") if s]
    assert len(sentences) == 2 and all(s.rstrip(".") in text for s in sentences)
    assert "cafeteria" not in summary and "Weather" not in summary
    assert text.index(sentences[0]) < text.index(sentences[1].rstrip("."))


def test_derived_text_gathers_every_source_of_words() -> None:
    record = _record(
        tags=["holiday"], description="Beach day", exif={"camera": "Canon EOS R5", "created": "2025-11-19T14:02:11"},
        location={"lat": 1, "lon": 2, "label": "Cambridge, England, GB"},
        ai={"ocr_text": "EXIT 12", "caption": "A sandy beach", "tags": ["seashore"], "summary": None},
    )
    text = derived_text(record)
    for words in ("IMG_0001.jpg", "holiday", "Beach day", "Canon EOS R5", "2025-11-19", "Cambridge", "EXIT 12",
                  "A sandy beach", "seashore"):
        assert words in text
