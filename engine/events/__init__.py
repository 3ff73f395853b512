"""Events after a commit (asset ready, deleted, job finished, ...): declared once, delivered to subscribers."""

from engine.events.bus import EventBus, Subscriber
from engine.events.models import Event, EventType

__all__ = ["Event", "EventBus", "EventType", "Subscriber"]
