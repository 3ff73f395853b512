"""What ``picsha doctor`` found, and what it did about it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, computed_field


class Severity(StrEnum):
    PROBLEM = "problem"  # needs a repair (``--repair``) or a person
    NOTE = "note"  # heals by itself (a sweeper, the upkeep or a worker takes it), or was settled by a repair before


class FindingKind(StrEnum):
    MISSING_ORIGINAL = "missing_original"  # an asset row whose original bytes are gone
    MISSING_DERIVATIVE = "missing_derivative"  # a derivative row whose bytes are gone
    ORPHAN_ORIGINAL = "orphan_original"  # original bytes no asset holds and nothing will collect
    ORPHAN_DERIVATIVE = "orphan_derivative"  # derivative bytes no derivative row refers to
    DUE_ORIGINAL = "due_original"  # original bytes no asset holds, due for the upkeep's collection
    HELD_ORIGINAL = "held_original"  # original bytes no asset holds yet, under an ingest's hold
    UNBACKED_BLOB_ROW = "unbacked_blob_row"  # a ``blobs`` row with no bytes and no asset
    STUCK_ASSET = "stuck_asset"  # an asset ``processing`` with no unfinished job
    STALLED_UPLOAD = "stalled_upload"  # an upload ``processing`` whose writer stopped (the sweeper finishes it)
    LAPSED_JOB = "lapsed_job"  # a job ``running`` whose lease lapsed (a worker takes it up again)


class Finding(BaseModel):
    kind: FindingKind
    severity: Severity
    subject: str = Field(description="The asset, derivative, upload or job id, or the blob key.")
    detail: str
    repaired: bool = False
    action: str | None = Field(default=None, description="What the repair did (or would do with --repair).")


class DoctorReport(BaseModel):
    repair: bool
    assets: int = Field(description="Asset rows checked.")
    derivatives: int = Field(description="Derivative rows checked.")
    stored_blobs: int = Field(description="Blobs listed in the store.")
    findings: list[Finding] = Field(default_factory=list)

    @property
    def remaining(self) -> list[Finding]:
        """Problems still there: what makes ``picsha doctor`` exit non-zero."""
        return [f for f in self.findings if f.severity is Severity.PROBLEM and not f.repaired]

    @computed_field(description="No problem remains (notes may).")  # type: ignore[prop-decorator]
    @property
    def clean(self) -> bool:
        return not self.remaining
