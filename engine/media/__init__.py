"""Media inspection and image work: probing headers, reading EXIF, making previews."""
