"""Scrape: collect the images (and, when asked, videos and documents) of a page or a site, politely and
through the SSRF guard, as a job; on a schedule too. ``service.ScrapeService`` is the public surface,
``models`` its contracts."""
