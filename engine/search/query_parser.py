"""A rule-based parser that lifts plain filters out of a sentence.

"photos from last week in Cambridge" -> type image, taken_after (7 days ago), place "Cambridge", and the
words left over ("photos" is consumed) become the search text. Only unambiguous patterns are lifted;
everything else stays in the query for the full-text and vector paths.

A date says when a file was taken (or made) unless a verb of uploading stands before it: "from June 2024",
"in 2023", "taken last summer" filter on the taken time, "uploaded last week" and "added yesterday" on the
upload time. Seasons are the Northern hemisphere's meteorological ones (spring is March to May, summer
June to August, autumn September to November, winter December to February, named by the year of its
December); "last summer" is the most recent one that has ended, "this spring" the one of this year (or
the one under way).
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # the month each one starts
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
RELATIVE = {
    "today": 0, "yesterday": 1, "this week": 7, "last week": 7, "past week": 7, "this month": 31,
    "last month": 31, "past month": 31, "this year": 366, "last year": 366, "past year": 366,
}
UPLOAD_VERBS = r"uploaded|added|imported|saved|stored|received"
TAKEN_VERBS = r"taken|shot|captured|photographed|made|created|scanned"
# An optional verb before a date phrase decides which time it filters.
VERB = rf"(?:\b(?P<verb>{UPLOAD_VERBS}|{TAKEN_VERBS})\s+)?"
YEAR = r"(?:19|20)\d{2}"
# "in Cambridge", "near Paris", "at Lake Tahoe", "from Paris": capitalised words after a place preposition.
PLACE = re.compile(r"\b(?:in|near|at|around|from)\s+((?:[A-Z][\w'-]+)(?:\s+[A-Z][\w'-]+){0,2})")
# Capitalised words that follow "from" or "in" without naming a place.
NOT_PLACES = set(MONTHS) | set(SEASONS) | set(WEEKDAYS) | {
    "my", "our", "your", "his", "her", "their", "this", "that", "these", "those", "last", "next", "past",
    "today", "yesterday", "tomorrow", "i", "me", "us", "them", "it",
}
FILLER = re.compile(r"\b(?:find|show|me|my|i|all|the|some|of|from|taken|with|that|which|a|an|search|for|get)\b", re.I)

Range = tuple[date | None, date | None]


@dataclass
class Parsed:
    text: str
    type: AssetType | None = None
    taken_after: date | None = None
    taken_before: date | None = None
    uploaded_after: date | None = None
    uploaded_before: date | None = None
    place: str | None = None
    lifted: list[str] = field(default_factory=list)


def _months_later(start: date, months: int) -> date:
    index = start.month - 1 + months
    return date(start.year + index // 12, index % 12 + 1, 1)


def _season(name: str, year: int) -> tuple[date, date]:
    start = date(year, SEASONS[name.lower()], 1)
    return start, _months_later(start, 3)


def _season_range(name: str, which: str | None, year: str | None, today: date) -> tuple[date, date]:
    if year:
        return _season(name, int(year))
    candidates = [_season(name, y) for y in range(today.year, today.year - 3, -1)]  # newest first
    if which == "last" or which == "past":  # the most recent one that has ended
        return next(r for r in candidates if r[1] <= today)
    if which == "this":  # the one under way, else this year's (a winter begins in this year's December)
        return next((r for r in candidates if r[0] <= today < r[1]), _season(name, today.year))
    return next(r for r in candidates if r[0] <= today)  # "in summer": the latest one that has begun


def _month_range(month_name: str, year: str | None, today: date) -> tuple[date, date]:
    month = MONTHS.index(month_name.lower()) + 1
    start = date(int(year) if year else (today.year if month <= today.month else today.year - 1), month, 1)
    return start, _months_later(start, 1)


def _open_ended(preposition: str | None, bounds: tuple[date, date]) -> Range:
    """"since May" is from its start on; "before 2024" until its start; otherwise the whole span."""
    word = (preposition or "").lower()
    if word in ("since", "after"):
        return (bounds[0] if word == "since" else bounds[1]), None
    if word in ("before", "until"):
        return None, (bounds[0] if word == "before" else bounds[1])
    return bounds


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Range]]


def _rules() -> list[Rule]:
    months = "|".join(MONTHS)
    seasons = "|".join(SEASONS)
    relative = "|".join(RELATIVE)
    rules: list[tuple[str, Callable[[re.Match[str], date], Range]]] = [
        # "on 2024-06-15", "since 2024-06-01": an ISO day
        (r"(?:(?P<prep>on|since|after|before|until)\s+)?(?P<day>\d{4}-\d{2}-\d{2})\b",
         lambda m, today: _open_ended(m["prep"] or "on", (d := date.fromisoformat(m["day"]), d + timedelta(days=1)))),
        # "last summer", "this spring", "in the summer of 2023", "winter 2024"; a bare "summer" stays a word
        (rf"(?:(?P<prep>in|from|during|since|after|before|until)\s+(?:the\s+)?)?(?:(?P<which>last|this|past)\s+)?"
         rf"(?P<season>{seasons})(?:\s+(?:of\s+)?(?P<year>{YEAR}))?\b",
         lambda m, today: _open_ended(m["prep"], _season_range(m["season"], m["which"], m["year"], today))),
        (rf"(?P<rel>{relative})\b", lambda m, today: _relative(m["rel"].lower(), today)),
        # "in May" or "May 2025", never a bare "may" (the verb)
        (rf"(?:(?P<prep>in|from|during|since|after|before|until)\s+(?P<month>{months})(?:\s+(?P<year>{YEAR}))?"
         rf"|(?P<month2>{months})\s+(?P<year2>{YEAR}))\b",
         lambda m, today: _open_ended(m["prep"], _month_range(m["month"] or m["month2"], m["year"] or m["year2"], today))),
        (rf"(?P<prep>in|from|during|since|after|before|until)\s+(?P<year>{YEAR})\b",
         lambda m, today: _open_ended(m["prep"], (date(int(m["year"]), 1, 1), date(int(m["year"]) + 1, 1, 1)))),
    ]
    return [(re.compile(VERB + pattern, re.I), read) for pattern, read in rules]


def _relative(phrase: str, today: date) -> Range:
    if phrase == "yesterday":
        return today - timedelta(days=1), today
    return today - timedelta(days=RELATIVE[phrase]), None


DATE_RULES = _rules()


def _is_season_word(match: re.Match[str]) -> bool:
    """A season with nothing that makes it a time ("summer dress") is an ordinary word."""
    groups = match.groupdict()
    return bool(groups.get("season")) and not any(groups.get(g) for g in ("which", "year", "verb", "prep"))


def _lift_dates(sentence: str, parsed: Parsed, today: date) -> str:
    """At most one taken range and one uploaded range, each the first rule that matches."""
    for _ in range(2):
        for pattern, read in DATE_RULES:
            match = next((m for m in pattern.finditer(sentence) if not _is_season_word(m)
                          and _free(parsed, _kind(m))), None)
            if match is None:
                continue
            after, before = read(match, today)
            kind = _kind(match)
            setattr(parsed, f"{kind}_after", after)
            setattr(parsed, f"{kind}_before", before)
            parsed.lifted.append(match.group(0).strip())
            sentence = sentence[: match.start()] + " " + sentence[match.end():]
            break
        else:
            return sentence
    return sentence


def _kind(match: re.Match[str]) -> str:
    verb = (match["verb"] or "").lower()
    return "uploaded" if verb and re.fullmatch(UPLOAD_VERBS, verb) else "taken"


def _free(parsed: Parsed, kind: str) -> bool:
    return getattr(parsed, f"{kind}_after") is None and getattr(parsed, f"{kind}_before") is None


def _lift_type(sentence: str, parsed: Parsed) -> str:
    for asset_type, pattern in TYPE_WORDS.items():
        match = re.search(rf"\b(?:{pattern})\b", sentence, re.I)
        if match:
            parsed.type, parsed.lifted = asset_type, parsed.lifted + [match.group(0)]
            return sentence[: match.start()] + " " + sentence[match.end():]
    return sentence


def _lift_place(sentence: str, parsed: Parsed) -> str:
    for match in PLACE.finditer(sentence):
        if match.group(1).split()[0].lower() in NOT_PLACES:
            continue
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
