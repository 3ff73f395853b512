"""Resumable uploads (the engine side of TUS 1.0): ``engine.uploads``.

Import from the sub-modules (``engine.uploads.factory``, ``.models``, ``.settings``): this package's
settings are part of ``engine.settings``, so nothing heavier is imported here.
"""
