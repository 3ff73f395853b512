"""One small module per render step; the order is written once, in ``engine.render.pipeline``."""
