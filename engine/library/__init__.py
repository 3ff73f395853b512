"""The media library: folders, collections, tags edited in place, the trash, file versions, bulk work, share
links, and finding assets by perceptual hash or colour."""

from engine.library.service import Library

__all__ = ["Library"]
