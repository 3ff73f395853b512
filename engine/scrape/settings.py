"""Scrape settings: who the crawler says it is, how gently it crawls, and the budget of one job."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ScrapeSettings(BaseModel):
    user_agent: str = Field(
        default="PicshaBot/0.1 (+https://github.com/picsha/picsha; image collector)",
        min_length=3, max_length=300,
        description="The User-Agent every scrape request sends; its first word is the robots.txt token.",
    )
    max_files_cap: int = Field(default=500, ge=1, le=100_000, description="Largest max_files a scrape may ask for.")
    host_concurrency: int = Field(default=2, ge=1, le=16, description="Requests in flight to one host at once.")
    delay_s: float = Field(
        default=1.0, ge=0, le=60,
        description="Pause between two requests to one host; a robots.txt Crawl-delay that is longer wins.",
    )
    max_crawl_delay_s: float = Field(default=10.0, ge=0, le=600, description="Longest Crawl-delay honoured.")
    max_retry_after_s: float = Field(
        default=30.0, ge=0, le=600,
        description="Longest Retry-After (429, 503) waited for; a longer one skips the URL.",
    )
    retries: int = Field(default=2, ge=0, le=5, description="Tries again after a 429 or 503.")
    request_timeout_s: float = Field(default=20.0, gt=0, le=300, description="Most time one request (with its body) takes.")
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, description="Largest HTML page read; larger ones are skipped.")
    max_robots_bytes: int = Field(default=512 * 1024, ge=1024, description="Bytes of robots.txt read (RFC 9309: at least 500 KiB).")
    max_pages: int = Field(default=200, ge=1, le=100_000, description="Pages one job visits at most.")
    max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024, description="Bytes one job fetches at most.")
    max_time_s: float = Field(default=600.0, gt=0, le=86_400, description="Longest run of one job.")
    robots_ttl_s: float = Field(default=3600.0, ge=0, description="How long a host's robots.txt is reused.")
    cache_ttl_s: float = Field(
        default=900.0, ge=0,
        description="A scrape asked again within this long answers with the earlier job (force: true scrapes anew).",
    )
    label_wait_s: float = Field(default=120.0, ge=0, le=3600, description="ai_labeling: longest wait for the analyses.")
