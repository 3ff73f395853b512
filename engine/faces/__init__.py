"""Face (and body-region) detection shared by enrichment and render."""

from engine.faces.detector import FaceBox, Region, detect_faces, detect_faces_tiled, detect_regions

__all__ = ["FaceBox", "Region", "detect_faces", "detect_faces_tiled", "detect_regions"]
