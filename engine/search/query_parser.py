"""A rule-based parser that lifts plain filters out of a sentence.

"photos from last week in Cambridge" -> type image, date_after (7 days ago), place "Cambridge", and the
words left over ("photos" is consumed) become the search text. Only unambiguous patterns are lifted;
everything else stays in the query for the full-text and vector paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from engine.assets.models import AssetType

TYPE_WORDS = {
    AssetType.IMAGE: r"photos?|pictures?|images?|pics?|screenshots?|snapshots?",
    AssetType.DOCUMENT: r"documents?|docs?|pdfs?",
    AssetType.TEXT: r"text files?|notes?",
}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
RELATIVE = {
    "today": 0, "yesterday": 1, "this week": 7, "last week": 7, "past week": 7, "this month": 31,
    "last month": 31, "past month": 31, "this year": 366, "last year": 366, "past year": 366,
}
# "in Cambridge", "near Paris", "at Lake Tahoe": capitalised words after a place preposition.
PLACE = re.compile(r"\b(?:in|near|at|around)\s+((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,2})")
FILLER = re.compile(r"\b(?:find|show|me|my|all|the|some|of|from|taken|with|that|which|a|an|search|for|get)\b", re.I)


@dataclass
class Parsed:
    text: str
    type: AssetType | None = None
    date_after: date | None = None
    date_before: date | None = None
    place: str | None = None
    lifted: list[str] = field(default_factory=list)


def _lift_type(sentence: str, parsed: Parsed) -> str:
    for asset_type, pattern in TYPE_WORDS.items():
        match = re.search(rf"\b(?:{pattern})\b", sentence, re.I)
        if match:
            parsed.type, parsed.lifted = asset_type, parsed.lifted + [match.group(0)]
            return sentence[: match.start()] + " " + sentence[match.end():]
    return sentence


def _lift_dates(sentence: str, parsed: Parsed, today: date) -> str:
    for phrase, days in RELATIVE.items():
        match = re.search(rf"\b{phrase}\b", sentence, re.I)
        if match:
            parsed.date_after = today - timedelta(days=days)
            parsed.lifted.append(match.group(0))
            return sentence[: match.start()] + " " + sentence[match.end():]
    months = "|".join(MONTHS)
    # "in May" or "May 2025", never a bare "may" (the verb)
    match = (re.search(rf"\b(?:in|from|during|since)\s+({months})(?:\s+(\d{{4}}))?\b", sentence, re.I)
             or re.search(rf"\b({months})\s+(\d{{4}})\b", sentence, re.I))
    if match:
        month = MONTHS.index(match.group(1).lower()) + 1
        year = int(match.group(2)) if match.group(2) else (today.year if month <= today.month else today.year - 1)
        parsed.date_after = date(year, month, 1)
        parsed.date_before = date(year + month // 12, month % 12 + 1, 1)
        parsed.lifted.append(match.group(0))
        return sentence[: match.start()] + " " + sentence[match.end():]
    match = re.search(r"\b(?:in|from|during)\s+((?:19|20)\d{2})\b", sentence, re.I)
    if match:
        parsed.date_after, parsed.date_before = date(int(match.group(1)), 1, 1), date(int(match.group(1)) + 1, 1, 1)
        parsed.lifted.append(match.group(0))
        return sentence[: match.start()] + " " + sentence[match.end():]
    return sentence


def _lift_place(sentence: str, parsed: Parsed) -> str:
    match = PLACE.search(sentence)
    if match:
        parsed.place = match.group(1)
        parsed.lifted.append(match.group(0))
        return sentence[: match.start()] + " " + sentence[match.end():]
    return sentence


def parse_query(sentence: str, *, today: date | None = None) -> Parsed:
    """Entry point: the filters a sentence states plainly, and the words left to search for."""
    today = today or datetime.now(UTC).date()
    parsed = Parsed(text="")
    rest = _lift_dates(sentence, parsed, today)
    rest = _lift_place(rest, parsed)
    rest = _lift_type(rest, parsed)
    words = FILLER.sub(" ", rest) if parsed.lifted else rest
    parsed.text = " ".join(words.split())
    return parsed
