"""The analyses ("skills"): what each does, which asset types it fits and which upload flag asks for it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from engine.assets.models import IngestConfig
from engine.enrich.settings import AnalysisDefaults


class Skill(BaseModel):
    name: str
    description: str
    types: list[str] = Field(description="Asset types the skill runs on.")
    flags: list[str] = Field(description="Upload config flags that turn the skill on.")
    steps: list[str]


SKILLS = [
    Skill(name="colors", description="Dominant colours and a perceptual hash (for finding duplicates).",
          types=["image"], flags=["auto_tag"], steps=["colors"]),
    Skill(name="faces", description="Faces (count and boxes) and body regions with NudeNet.",
          types=["image"], flags=["auto_tag", "safe_search"], steps=["faces"]),
    Skill(name="safe_search", description="Whole-image NSFW score joined with explicit regions: verified or flagged.",
          types=["image"], flags=["safe_search"], steps=["safe_search"]),
    Skill(name="ocr", description="Text in images and scanned PDF pages (PP-OCR).",
          types=["image", "document"], flags=["ocr"], steps=["ocr"]),
    Skill(name="clip", description="CLIP image embedding and zero-shot tags from a 1,000-label vocabulary.",
          types=["image"], flags=["auto_tag", "vectorize"], steps=["clip"]),
    Skill(name="caption", description="A caption for images, a summary for documents (Claude, or offline).",
          types=["image", "document", "text"], flags=["auto_summarize"], steps=["caption"]),
    Skill(name="place", description="A street-level place label from Google Maps (when a key is configured).",
          types=["image"], flags=["location_lookup"], steps=["place"]),
    Skill(name="index", description="MiniLM text embedding of the asset's words and its search-index row.",
          types=["image", "document", "text"], flags=["vectorize"], steps=["index"]),
]
BY_NAME = {skill.name: skill for skill in SKILLS}
ANALYSIS_FLAGS = ("auto_tag", "auto_summarize", "vectorize", "safe_search", "ocr")


def resolve_flags(config: IngestConfig | dict[str, object], defaults: AnalysisDefaults) -> dict[str, bool]:
    given = config.model_dump(exclude_none=True) if isinstance(config, IngestConfig) else dict(config)
    base = defaults.model_dump()
    return {name: bool(given.get(name, base[name])) for name in base}


def plan(asset_type: str, flags: dict[str, bool], *, google_maps: bool = False) -> list[str]:
    """The skills an upload asks for, in run order; ``index`` closes any non-empty plan.

    ``place`` is planned only with Google Maps configured: the offline label is written at upload.
    """
    skipped = {"index"} | (set() if google_maps else {"place"})
    chosen = [s.name for s in SKILLS if asset_type in s.types and any(flags.get(f) for f in s.flags) and s.name not in skipped]
    return chosen + ["index"] if chosen or flags.get("vectorize") else []
