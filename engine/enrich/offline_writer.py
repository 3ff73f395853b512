"""Deterministic captions (from the analyzers' findings) and extractive summaries, used without Claude."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from engine.enrich.source import AssetRecord

STOP_WORDS = set(
    "a an and are as at be by for from has have in is it its of on or that the this to was were will with we "
    "you your our their they he she his her not but if then than so such can may also into over per".split()
)


def caption_image(record: AssetRecord, ai: dict[str, Any]) -> str:
    """Entry point for images: one sentence built from tags, faces, colours, text and place."""
    tags = list(ai.get("tags") or [])[:3]
    subject = f"A photo of {_join(tags)}" if tags else "An image"
    bits = [subject]
    faces = (ai.get("faces") or {}).get("count") or 0
    if faces:
        bits.append(f"with {faces} face{'s' if faces > 1 else ''}")
    colors = [c["name"] for c in (ai.get("colors") or [])[:2]]
    if colors:
        bits.append(f"in mostly {' and '.join(dict.fromkeys(colors))} tones")
    text = " ".join((ai.get("ocr_text") or "").split())
    if text:
        bits.append(f'showing the text "{text[:80]}"')
    place = (record.location or {}).get("label")
    if place:
        bits.append(f"taken near {place}")
    return " ".join(bits) + "."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", flat) if len(s.strip()) > 20]


def summarize(text: str, sentences: int = 3, max_chars: int = 600) -> str:
    """Entry point for documents: the highest-scoring sentences (word frequency), in document order."""
    found = _sentences(text)
    if not found:
        return " ".join(text.split())[:max_chars]
    words = Counter(w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in STOP_WORDS and len(w) > 2)

    def score(sentence: str) -> float:
        tokens = [w for w in re.findall(r"[a-z0-9']+", sentence.lower()) if w in words]
        return sum(words[w] for w in tokens) / (len(tokens) + 5)

    best = sorted(sorted(range(len(found)), key=lambda i: -score(found[i]))[:sentences])
    return " ".join(found[i] for i in best)[:max_chars]
