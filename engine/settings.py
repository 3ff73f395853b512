"""Settings: one pydantic-settings model per component, composed into ``Settings``.

Everything comes from ``PICSHA_`` environment variables (nested with ``__``, e.g.
``PICSHA_INGEST__MAX_BYTES``); nothing is read at import time, and ``Settings()`` alone starts a working
embedded server with all data under ``data_dir``.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.accounts.settings import AccountSettings
from engine.admission import AdmissionSettings
from engine.enrich.settings import EnrichSettings
from engine.generation.settings import GenerateSettings
from engine.imaging.settings import ImagingSettings
from engine.jobs.settings import JobSettings
from engine.documents.settings import DocumentSettings
from engine.media.archive import ArchiveLimits
from engine.plans.settings import LimitSettings
from engine.previews.settings import PreviewSettings
from engine.render.settings import RenderSettings
from engine.scrape.settings import ScrapeSettings
from engine.search.settings import SearchSettings
from engine.uploads.settings import UploadSettings
from engine.webhooks.settings import WebhookSettings


class StorageBackend(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class StorageSettings(BaseModel):
    backend: StorageBackend = StorageBackend.LOCAL
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_multipart_chunk_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> "StorageSettings":
        if self.backend is StorageBackend.S3 and not self.s3_bucket:
            raise ValueError("storage.s3_bucket is required when storage.backend is 's3'")
        return self


class CatalogSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is SQLite at <data_dir>/catalog.db. "
        "PostgreSQL: postgresql+asyncpg://user@host/db",
    )
    echo: bool = False


class IngestSettings(BaseModel):
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    max_json_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024,
        description="Largest JSON body (base64 ingest, tool calls, MCP over HTTP): JSON is read whole, so "
        "larger files go multipart or TUS.",
    )
    max_pixels: int = Field(default=200_000_000, ge=1)
    max_text_field_chars: int = Field(default=1000, ge=1)
    fetch_timeout_s: float = Field(default=30.0, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    fetch_allow_private: bool = Field(
        default=False, description="Allow URL fetches to loopback/private/link-local addresses (tests, LANs)."
    )
    fetch_allowed_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [80, 443], min_length=1,
        description="Ports URL fetches and webhooks may connect to. Not checked when fetch_allow_private is on "
        "(a private network's services listen on any port).",
    )
    fetch_allowed_networks: list[IPv4Network | IPv6Network] = Field(
        default_factory=list,
        description="Private networks URL fetches, scrapes and webhooks may reach although fetch_allow_private is "
        "off, e.g. ['192.168.1.20/32'] for one LAN host; ports are still checked.",
    )
    thumbnail_px: int = Field(default=256, ge=16, le=2048)
    thumbnail_webp_effort: int | None = Field(
        default=None, ge=0, le=6,
        description="libwebp effort (method) for the WebP thumbnail made at ingest alone; unset: the render "
        "encoder's (PICSHA_RENDER__WEBP_EFFORT), so it is what a render by URL makes. 0 costs about half of 4 for a "
        "256 px thumbnail at the same quality setting (bulk imports and scrapes), but on photos about 0.4 dB PSNR "
        "less at equal bytes; it keeps the thumbnail's cache key.",
    )
    path_roots: list[Path] = Field(
        default_factory=list,
        description="Folders a local 'path' upload (MCP over stdio) may read from, besides the client's MCP "
        "roots. With neither, the user's home folder. Hidden files and folders are never read.",
    )
    archive_max_total_bytes: int = Field(
        default=ArchiveLimits.max_total_bytes, ge=1, description="Office files (ZIP containers): most bytes all members inflate to."
    )
    archive_max_member_bytes: int = Field(
        default=ArchiveLimits.max_member_bytes, ge=1, description="Office files: most bytes one member inflates to."
    )
    archive_max_ratio: float = Field(
        default=ArchiveLimits.max_ratio, ge=1, description="Office files: most a member (over 1 MiB) or the whole file may inflate by."
    )
    archive_max_members: int = Field(default=ArchiveLimits.max_members, ge=1, description="Office files: most members.")
    blob_grace_s: float = Field(
        default=3600.0, gt=0,
        description="How long an ingest's new original is kept from collection before its asset row exists; "
        "an ingest that fails leaves its bytes to be collected after it.",
    )

    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_total_bytes=self.archive_max_total_bytes, max_member_bytes=self.archive_max_member_bytes,
            max_ratio=self.archive_max_ratio, max_members=self.archive_max_members,
        )


class AuthMode(StrEnum):
    ON = "on"
    OFF = "off"


class SigningSettings(BaseModel):
    keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="URL-signing keys by key id; the first is used to sign. Empty: the first process "
        "generates one into the catalog and every process shares it.",
    )
    url_ttl_s: int | None = Field(default=None, ge=1, description="Expiry of signed URLs; none: no expiry.")


class McpSettings(BaseModel):
    """MCP over stdio (``picsha mcp``): where its links point, and how large a resource read may be."""

    probe_timeout_s: float = Field(
        default=2.0, gt=0, le=30,
        description="How long picsha mcp waits, once at start, for a picsha serve at public_url to answer; "
        "without one, it serves its links itself on a loopback port for the session.",
    )
    toolsets: list[str] = Field(
        default_factory=list, max_length=60,
        description="Image tools (ids, e.g. resize, compress) to list one by one as agent tools, beside "
        "list_image_tools and run_image_tool, for clients that prefer a tool per operation.",
    )
    resource_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1,
        description="Largest original or full-size render read as an MCP resource (base64 inside JSON-RPC); "
        "larger files are fetched from their signed URL.",
    )


class PriceTable(BaseModel):
    """Prices in USD used to write the usage ledger."""

    storage_per_gb_month: float = Field(default=0.023, ge=0, description="Per GB held for a month, billed by the hour.")
    bandwidth_per_gb: float = Field(default=0.09, ge=0)
    ai_operation: float = Field(default=0.001, ge=0)
    render: float = Field(default=0.0, ge=0)


class TrashSettings(BaseModel):
    keep_days: int = Field(default=30, ge=1, le=3650,
                           description="Days a trashed asset is kept before it is deleted for good.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PICSHA_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("./picsha-data")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL used in links the API returns.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    auth: AuthMode = Field(default=AuthMode.ON, description="'off' serves every request as the owner account.")
    key_cache_ttl_s: float = Field(
        default=5.0, ge=0, le=300,
        description="How long a server process trusts a key it found valid without asking the catalog again: a "
        "key revoked through another process still works there for up to this long (0: ask every time).",
    )
    server_timing: bool = Field(
        default=False, description="Each HTTP answer says how long the app took to start it (a Server-Timing "
        "header, 'app;dur=<ms>'): what a client's own latency adds on top shows (bench/load.py turns it on).",
    )
    accounts: AccountSettings = Field(default_factory=AccountSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    prices: PriceTable = Field(default_factory=PriceTable)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    enrich: EnrichSettings = Field(default_factory=EnrichSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    render: RenderSettings = Field(default_factory=RenderSettings)
    previews: PreviewSettings = Field(default_factory=PreviewSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    admission: AdmissionSettings = Field(default_factory=AdmissionSettings)
    imaging: ImagingSettings = Field(default_factory=ImagingSettings)
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    documents: DocumentSettings = Field(default_factory=DocumentSettings)
    scrape: ScrapeSettings = Field(default_factory=ScrapeSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    trash: TrashSettings = Field(default_factory=TrashSettings)

    def catalog_url(self) -> str:
        return self.catalog.url or f"sqlite+aiosqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"
