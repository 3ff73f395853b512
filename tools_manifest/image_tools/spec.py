"""What an image tool declaration is: the public face (id, words, cost, library) of one engine operation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from engine.imaging import Operation
from tools_manifest import schema
from tools_manifest.spec import Cost


class Category(StrEnum):
    ESSENTIALS = "essentials"
    OPTIMIZATION = "optimization"
    ADJUSTMENTS = "adjustments"
    AI = "ai"
    WATERMARK = "watermark"
    UTILITIES = "utilities"
    LAYOUT = "layout"
    FORMAT = "format"


@dataclass(frozen=True)
class ImageToolSpec:
    """One image tool. ``id`` is the image-tools API's own (``resize``, ``remove-background``, ...).

    ``description`` is for a model: one or two sentences on what it does and gives. ``example`` is a
    settings object. ``library`` names what does the work (the README's table lists it).
    """

    id: str
    title: str
    category: Category
    description: str
    operation: Operation[Any]
    cost: Cost
    library: str
    example: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> type[BaseModel]:
        return self.operation.settings

    def parse(self, settings: dict[str, Any]) -> BaseModel:
        """Settings checked as strict JSON, like every tool input (a ``ValidationError`` names the field)."""
        return self.settings.model_validate_json(json.dumps(settings), strict=True)

    def settings_schema(self) -> dict[str, Any]:
        return schema.input_schema(self.settings.model_json_schema())

    def entry(self, *, available: bool = True, enable_with: str | None = None) -> dict[str, Any]:
        """The tool as listed by ``GET /v1/pipeline/tools`` and ``tools.json``."""
        operation = self.operation
        listed: dict[str, Any] = {
            "id": self.id, "title": self.title, "category": self.category.value, "description": self.description,
            "takes": operation.takes.value, "gives": operation.gives.value, "formats": list(operation.formats),
            "library": self.library, "cost": self.cost.note, "example": self.example,
            "settings": self.settings_schema(), "available": available,
        }
        if enable_with:
            listed["enable_with"] = enable_with
        return listed
