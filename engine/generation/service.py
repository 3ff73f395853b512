"""``GenerationService``: a prompt through the chain of providers, each image stored as an asset and priced.

The first provider that answers with good images is used; one that fails (timeout, 5xx, 429 after its
retries, malformed JSON, a non-image, an image over the pixel limit) passes to the next, and the answer
says which were tried and why. A content refusal answers ``generate_refused`` unless
``fallback_on_refusal`` is on. Keys sent with a request live in one ``Call`` and are never stored or logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2

from engine.assets.models import TEXT_FIELD_MAX, Asset, IngestOptions
from engine.auth.keys import Principal
from engine.errors import PicshaError, UpstreamError
from engine.generation.chain import Candidate, candidates, request_keys
from engine.generation.images import CheckedImage, checked_images
from engine.generation.models import (
    Attempt, BatchItem, BatchRequest, BatchResult, GeneratedImage, GenerateRequest, GenerateResult, QueuedGenerate,
    styled,
)
from engine.generation.providers import build_providers
from engine.generation.providers.base import Answer, Call, Provider, ProviderFailed, ProviderRefused
from engine.generation.settings import GenerateSettings, ProviderName
from engine.ingest import IngestService
from engine.jobs import Job, JobContext, JobKind, JobPolicy, JobRunner
from engine.usage import UsageKind, UsageLedger, format_usd

log = logging.getLogger("picsha.generate")

JOB_KIND = "generate"
JOB_POLICY = JobPolicy(attempts=1, idempotent=False, time_limit_s=900, final=(PicshaError,))
TITLES = {ProviderName.OPENAI: "OpenAI", ProviderName.IMAGEN: "Imagen", ProviderName.FAL: "fal",
          ProviderName.REPLICATE: "Replicate"}

Report = Callable[..., Awaitable[None]]


class Refused(PicshaError):
    status = 422
    code = "generate_refused"


class GenerationService:
    def __init__(self, *, settings: GenerateSettings, ingest: IngestService, ledger: UsageLedger, jobs: JobRunner,
                 client: httpx2.AsyncClient | None = None):
        self.settings = settings
        self.ingest = ingest
        self.ledger = ledger
        self.jobs = jobs
        # provider APIs live at operator-configured addresses; result URLs they answer go through the guard
        self.client = client or httpx2.AsyncClient(trust_env=False, follow_redirects=False)
        self.providers: dict[ProviderName, Provider] = build_providers(settings, self.client)
        self.slots = {name: asyncio.Semaphore(settings.max_parallel_per_provider) for name in ProviderName}
        self.cpu = anyio.CapacityLimiter(2)

    async def close(self) -> None:
        await self.client.aclose()

    def job_kind(self) -> JobKind:
        return JobKind(JOB_KIND, self._run_job, JOB_POLICY)

    # -- the three forms ----------------------------------------------------------------------------------

    async def generate(self, principal: Principal, request: QueuedGenerate, *, report: Report | None = None) -> GenerateResult:
        usable, unconfigured = candidates(self.settings, forced=request.provider, keys=request_keys(request))
        tried: list[Attempt] = []
        for position, candidate in enumerate(usable):
            if report is not None:
                await report(progress=80.0 * position / len(usable), message=f"asking {candidate.name.value}")
            outcome = await self._try(candidate, request, tried)
            if outcome is not None:
                if report is not None:
                    await report(progress=90.0, message=f"storing {len(outcome[1])} images")
                return await self._store(principal, request, candidate.name, *outcome, tried=tried)
        raise UpstreamError(
            "No image provider could generate the image: "
            + "; ".join(f"{a.provider.value}: {a.reason}" for a in tried) + ".",
            code="generate_failed", tried=[attempt.model_dump(mode="json") for attempt in tried],
            skipped=[attempt.model_dump(mode="json") for attempt in unconfigured],
        )

    async def queue(self, principal: Principal, request: QueuedGenerate) -> Job:
        """The queued form: a job whose result is the same answer; 503 at once when nothing is configured."""
        candidates(self.settings, forced=request.provider, keys={})
        payload = {"request": request.model_dump(mode="json")}
        job_id = await self.jobs.enqueue(account_id=principal.account_id, kind=JOB_KIND, payload=payload,
                                         requested=True)
        return await self.jobs.get(principal.account_id, job_id)

    async def batch(self, principal: Principal, request: BatchRequest) -> BatchResult:
        """Every prompt at once; each provider runs at most ``max_parallel_per_provider`` calls at a time."""
        candidates(self.settings, forced=request.provider, keys={})
        shared = request.model_dump(exclude={"prompts"})

        async def one(index: int, prompt: str) -> BatchItem:
            single = QueuedGenerate.model_validate(shared | {"prompt": prompt})
            try:
                return BatchItem(index=index, prompt=prompt, result=await self.generate(principal, single))
            except PicshaError as error:
                return BatchItem(index=index, prompt=prompt, error=error.to_dict())

        items = await asyncio.gather(*(one(i, prompt) for i, prompt in enumerate(request.prompts)))
        spent = sum(item.result.cost_micros for item in items if item.result is not None)
        ok = sum(1 for item in items if item.result is not None)
        return BatchResult(items=list(items), succeeded=ok, failed=len(items) - ok, cost=format_usd(spent))

    async def _run_job(self, context: JobContext) -> dict[str, Any]:
        request = QueuedGenerate.model_validate(context.payload["request"])
        result = await self.generate(Principal(account_id=context.account_id), request, report=context.report)
        await context.report(progress=100.0, message="done")
        return result.model_dump(mode="json")

    # -- one provider ---------------------------------------------------------------------------------------

    async def _try(self, candidate: Candidate, request: QueuedGenerate,
                   tried: list[Attempt]) -> tuple[Answer, list[CheckedImage]] | None:
        """The provider's answer and its checked images, or ``None`` after noting why it was skipped."""
        provider = self.providers[candidate.name]
        call = Call(prompt=styled(request.prompt, request.style), count=request.count, orientation=request.orientation,
                    format=request.format, key=candidate.key, seed=secrets.randbelow(2**31))
        try:
            async with self.slots[candidate.name]:
                answer = await provider.generate(call)
                checked = await checked_images(
                    answer.images[: request.count], settings=self.ingest.settings, work_dir=self.ingest.work_dir,
                    max_bytes=min(self.settings.max_image_bytes, self.ingest.settings.max_bytes), limiter=self.cpu,
                )
        except ProviderRefused as refusal:
            tried.append(Attempt(provider=candidate.name, outcome="refused", reason=refusal.reason))
            log.info("generation: %s refused the prompt", candidate.name.value)
            if self.settings.fallback_on_refusal and request.provider is None:
                return None
            raise Refused(f"{TITLES[candidate.name]} refused the prompt for safety reasons ({refusal.reason}).",
                          tried=[attempt.model_dump(mode="json") for attempt in tried]) from None
        except ProviderFailed as failure:
            tried.append(Attempt(provider=candidate.name, outcome="failed", reason=failure.reason))
            log.info("generation: %s skipped: %s", candidate.name.value, failure.reason)
            return None
        except Exception as error:  # an adapter's own bug must not answer 500: the next provider is tried
            tried.append(Attempt(provider=candidate.name, outcome="failed",
                                 reason=f"failed unexpectedly ({type(error).__name__})"))
            log.error("generation: %s failed unexpectedly (%s)", candidate.name.value, type(error).__name__)
            return None
        tried.append(Attempt(provider=candidate.name, outcome="used"))
        return answer, checked

    # -- storing and pricing -----------------------------------------------------------------------------

    def _cost_micros(self, name: ProviderName, answer: Answer, images: list[CheckedImage]) -> int:
        if answer.cost_usd is not None:
            return round(answer.cost_usd * 1_000_000)
        configured = self.settings.provider(name)
        per_megapixel = getattr(configured, "price_per_megapixel_usd", None)
        if per_megapixel is not None and all(image.width and image.height for image in images):
            megapixels = sum((image.width or 0) * (image.height or 0) for image in images) / 1_000_000
            return round(per_megapixel * megapixels * 1_000_000)
        return round(configured.price_per_image_usd * len(images) * 1_000_000)

    async def _store(self, principal: Principal, request: QueuedGenerate, name: ProviderName, answer: Answer,
                     images: list[CheckedImage], *, tried: list[Attempt]) -> GenerateResult:
        model = self.settings.provider(name).model
        total = self._cost_micros(name, answer, images)
        shares = [total // len(images)] * len(images)
        shares[-1] += total - sum(shares)
        inline = isinstance(request, GenerateRequest) and request.inline
        out: list[GeneratedImage] = []
        try:
            for index, image in enumerate(images):
                data = await anyio.Path(image.staged.path).read_bytes() if inline else None
                asset = await self._ingest(principal, request, name, model, image, index)
                await self.ledger.record(
                    account_id=principal.account_id, asset_id=asset.id, kind=UsageKind.GENERATION, quantity=1,
                    cost_usd=shares[index] / 1_000_000,
                    detail={"provider": name.value, "model": model, "images": len(images)} | answer.usage,
                )
                url = f"data:{image.kind.content_type};base64,{base64.b64encode(data).decode()}" if data else asset.urls.original
                out.append(GeneratedImage(index=index, title=f"{TITLES[name]} — Variation {index + 1}", provider=name,
                                          url=url, asset_id=asset.id, width=image.width, height=image.height,
                                          seed=image.seed))
        finally:
            for image in images:
                image.staged.discard()
        return GenerateResult(prompt=request.prompt, count=len(out), provider=name, model=model, images=out,
                              asset_ids=[image.asset_id for image in out], tried=tried,
                              cost=format_usd(total)).priced(total)

    async def _ingest(self, principal: Principal, request: QueuedGenerate, name: ProviderName, model: str,
                      image: CheckedImage, index: int) -> Asset:
        record = {"prompt": request.prompt, "style": request.style.value, "provider": name.value, "model": model,
                  "seed": image.seed, "orientation": request.orientation.value}
        options = IngestOptions(
            tags=request.tags, metadata=request.metadata | {"source": "generated", "generation": record},
            description=request.prompt[:TEXT_FIELD_MAX],
        )
        filename = f"generated-{name.value}-{index + 1}.{image.kind.extension}"
        return await self.ingest.from_staged(principal, image.staged, filename, options)
