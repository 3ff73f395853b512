"""Places: turning coordinates into a human label, offline by default."""

from engine.places.offline import OfflineGeocoder, Place

__all__ = ["OfflineGeocoder", "Place"]
