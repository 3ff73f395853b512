"""The rule-based parser lifts plain filters out of a sentence and leaves the rest to search."""

from __future__ import annotations

from datetime import date

from engine.assets.models import AssetType
from engine.search.models import SearchFilters
from engine.search.query_parser import parse_query
from engine.search.service import merge_filters

TODAY = date(2026, 11, 22)


def test_photos_from_last_week_in_cambridge() -> None:
    parsed = parse_query("photos from last week in Cambridge", today=TODAY)
    assert parsed.type is AssetType.IMAGE and (parsed.taken_after, parsed.taken_before) == (date(2026, 11, 15), None)
    assert parsed.uploaded_after is None and parsed.place == "Cambridge" and parsed.text == ""


def test_the_team_meeting_keeps_its_words() -> None:
    parsed = parse_query("Find photos of the team meeting in Cambridge", today=TODAY)
    assert parsed.type is AssetType.IMAGE and parsed.place == "Cambridge" and parsed.text == "team meeting"


def taken(query: str) -> tuple[date | None, date | None]:
    parsed = parse_query(query, today=TODAY)
    assert (parsed.uploaded_after, parsed.uploaded_before) == (None, None), query
    return parsed.taken_after, parsed.taken_before


def uploaded(query: str) -> tuple[date | None, date | None]:
    parsed = parse_query(query, today=TODAY)
    assert (parsed.taken_after, parsed.taken_before) == (None, None), query
    return parsed.uploaded_after, parsed.uploaded_before


def test_months_and_years_become_taken_ranges() -> None:
    march = parse_query("invoices from March 2025", today=TODAY)
    assert (march.taken_after, march.taken_before, march.text) == (date(2025, 3, 1), date(2025, 4, 1), "invoices")
    december = parse_query("pdfs in 2024", today=TODAY)
    assert december.type is AssetType.DOCUMENT and taken("pdfs in 2024") == (date(2024, 1, 1), date(2025, 1, 1))
    june = parse_query("photos taken in June 2024", today=TODAY)
    assert june.type is AssetType.IMAGE and june.text == "" and taken("photos taken in June 2024") == (date(2024, 6, 1), date(2024, 7, 1))
    assert taken("from June 2024") == taken("June 2024") == (date(2024, 6, 1), date(2024, 7, 1))
    assert taken("in 2023") == (date(2023, 1, 1), date(2024, 1, 1))
    assert taken("in December") == (date(2025, 12, 1), date(2026, 1, 1))  # the latest December that has begun
    assert taken("photos since May 2024") == (date(2024, 5, 1), None)
    assert taken("documents before 2020") == (None, date(2020, 1, 1))
    assert taken("until March 2025") == (None, date(2025, 4, 1))
    assert taken("taken on 2024-06-15") == (date(2024, 6, 15), date(2024, 6, 16))
    assert taken("photos from last week") == (date(2026, 11, 15), None)
    assert taken("yesterday") == (date(2026, 11, 21), date(2026, 11, 22))


def test_seasons_are_northern_meteorological_ones() -> None:
    # Today is 22 November 2026: autumn is under way, summer 2026 is the last one that ended.
    assert taken("last summer") == (date(2026, 6, 1), date(2026, 9, 1))
    assert taken("last spring") == (date(2026, 3, 1), date(2026, 6, 1))
    assert taken("last autumn") == taken("last fall") == (date(2025, 9, 1), date(2025, 12, 1))
    assert taken("last winter") == (date(2025, 12, 1), date(2026, 3, 1))
    assert taken("this spring") == (date(2026, 3, 1), date(2026, 6, 1))
    assert taken("this autumn") == (date(2026, 9, 1), date(2026, 12, 1))
    assert taken("this winter") == (date(2026, 12, 1), date(2027, 3, 1))  # named by the year of its December
    assert taken("in the summer of 2023") == taken("summer 2023") == (date(2023, 6, 1), date(2023, 9, 1))
    assert taken("winter 2024") == (date(2024, 12, 1), date(2025, 3, 1))
    assert taken("photos from summer") == (date(2026, 6, 1), date(2026, 9, 1))
    in_january = parse_query("this winter", today=date(2027, 1, 10))
    assert (in_january.taken_after, in_january.taken_before) == (date(2026, 12, 1), date(2027, 3, 1))
    beach = parse_query("beach last summer", today=TODAY)
    assert beach.text == "beach" and beach.lifted == ["last summer"]
    # A season with nothing that makes it a time is an ordinary word.
    dress = parse_query("summer dress", today=TODAY)
    assert dress.text == "summer dress" and dress.taken_after is None


def test_uploading_verbs_make_a_date_the_upload_time() -> None:
    assert uploaded("uploaded last week") == (date(2026, 11, 15), None)
    assert uploaded("added yesterday") == (date(2026, 11, 21), date(2026, 11, 22))
    assert uploaded("pdfs imported in March 2025") == (date(2025, 3, 1), date(2025, 4, 1))
    assert uploaded("uploaded on 2024-06-15") == (date(2024, 6, 15), date(2024, 6, 16))
    both = parse_query("photos I uploaded yesterday taken in 2019", today=TODAY)
    assert (both.uploaded_after, both.uploaded_before) == (date(2026, 11, 21), date(2026, 11, 22))
    assert (both.taken_after, both.taken_before) == (date(2019, 1, 1), date(2020, 1, 1)) and both.text == ""


def test_a_bare_may_is_a_verb_not_a_month() -> None:
    parsed = parse_query("signs that may say exit", today=TODAY)
    assert parsed.taken_after is None and parsed.text == "signs that may say exit"
    assert parse_query("receipts in may", today=TODAY).taken_after == date(2026, 5, 1)
    assert parse_query("receipts May 2024", today=TODAY).taken_before == date(2024, 6, 1)


def test_from_a_capitalised_place_lifts_the_place() -> None:
    for query in ("my photos from Paris", "photos in Paris"):
        parsed = parse_query(query, today=TODAY)
        assert (parsed.type, parsed.place, parsed.text) == (AssetType.IMAGE, "Paris", ""), query
    hague = parse_query("pictures from The Hague last summer", today=TODAY)
    assert hague.place == "The Hague" and hague.taken_after == date(2026, 6, 1)
    # A month, a season or a weekday after "from" is no place.
    assert parse_query("photos from June", today=TODAY).place is None
    assert parse_query("photos from Summer 2023", today=TODAY).place is None
    assert parse_query("photos from Monday", today=TODAY).place is None
    assert parse_query("lake photos from My Trip", today=TODAY).place is None


def test_plain_words_are_left_alone() -> None:
    parsed = parse_query("red square on a white wall", today=TODAY)
    assert parsed.text == "red square on a white wall" and parsed.type is None and parsed.place is None


def test_given_filters_win_over_parsed_ones() -> None:
    text, filters = merge_filters(SearchFilters(type=AssetType.DOCUMENT), "photos of dogs")
    assert filters.type is AssetType.DOCUMENT and text == "dogs"
