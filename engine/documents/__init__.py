"""Documents: office files viewable as PDF (a warm LibreOffice pool), their words and their properties.

``service.DocumentService`` (the ``document`` job: PDF view, previews, then the analyses), ``pool.OfficePool``,
``formats`` (recognising office files from their bytes), ``text.extract_text``, ``metadata.document_properties``
and ``settings.DocumentSettings``. Nothing is imported here, so the parts stay importable from ingest and render.
"""
