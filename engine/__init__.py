"""The Picsha engine: every behaviour lives here; the front doors hold one ``Engine``."""

from engine.engine import Engine
from engine.settings import Settings

__all__ = ["Engine", "Settings"]
