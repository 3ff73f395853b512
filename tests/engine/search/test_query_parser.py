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
    assert parsed.type is AssetType.IMAGE and parsed.date_after == date(2026, 11, 15)
    assert parsed.place == "Cambridge" and parsed.text == ""


def test_the_team_meeting_keeps_its_words() -> None:
    parsed = parse_query("Find photos of the team meeting in Cambridge", today=TODAY)
    assert parsed.type is AssetType.IMAGE and parsed.place == "Cambridge" and parsed.text == "team meeting"


def test_months_and_years_become_ranges() -> None:
    march = parse_query("invoices from March 2025", today=TODAY)
    assert (march.date_after, march.date_before, march.text) == (date(2025, 3, 1), date(2025, 4, 1), "invoices")
    december = parse_query("pdfs in 2024", today=TODAY)
    assert december.type is AssetType.DOCUMENT and (december.date_after, december.date_before) == (date(2024, 1, 1), date(2025, 1, 1))


def test_a_bare_may_is_a_verb_not_a_month() -> None:
    parsed = parse_query("signs that may say exit", today=TODAY)
    assert parsed.date_after is None and parsed.text == "signs that may say exit"
    assert parse_query("receipts in may", today=TODAY).date_after == date(2026, 5, 1)
    assert parse_query("receipts May 2024", today=TODAY).date_before == date(2024, 6, 1)


def test_plain_words_are_left_alone() -> None:
    parsed = parse_query("red square on a white wall", today=TODAY)
    assert parsed.text == "red square on a white wall" and parsed.type is None and parsed.place is None


def test_given_filters_win_over_parsed_ones() -> None:
    text, filters = merge_filters(SearchFilters(type=AssetType.DOCUMENT), "photos of dogs")
    assert filters.type is AssetType.DOCUMENT and text == "dogs"
