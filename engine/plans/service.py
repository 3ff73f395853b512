"""``engine.plans``: what a caller's plan lets it do (rate limits, quotas) and what its account set
(disabled tools, upload limit, default analyses), asked before the work starts."""

from __future__ import annotations

from engine.account_settings import AccountSettingsService
from engine.assets.models import IngestOptions
from engine.auth.keys import Principal
from engine.errors import PicshaError
from engine.plans.quotas import Quotas
from engine.plans.rates import RateLimiter, RateState
from engine.plans.settings import AI_WORK, LimitSettings, Work
from engine.usage import UsageLedger, attribute_to


class Plans:
    def __init__(self, settings: LimitSettings, ledger: UsageLedger, account_settings: AccountSettingsService):
        self.settings = settings
        self.rates = RateLimiter(settings)
        self.quotas = Quotas(settings, ledger)
        self.account_settings = account_settings

    async def admit(self, principal: Principal, work: Work = Work.REQUEST, *, counted: int = 0) -> RateState | None:
        """Let a request in, or raise 429 ``rate_limited`` / 402 ``quota_exceeded``. It counts as its work's
        weight less ``counted`` (what the same request already counted as). Usage it records names its key."""
        attribute_to(principal.key_id)
        if work in AI_WORK:
            await self.quotas.check_ai(principal.account_id)
        weight = self.settings.weights[work] - counted
        if weight <= 0:
            return None
        return await self.rates.hit(principal.account_id, principal.key_id, weight)

    async def charge(self, principal: Principal, work: Work, *, counted: int = 1) -> None:
        """Count the rest of a weight found out after the work (a render that ran): counted, never refused."""
        try:
            await self.admit(principal, work, counted=counted)
        except PicshaError:
            pass

    async def tool_call(self, principal: Principal, tool_id: str, work: Work, *, counted: int = 1) -> None:
        """Before a registry tool runs: not turned off for the account, within quota and rate."""
        await self.account_settings.check_tool(principal.account_id, tool_id)
        await self.admit(principal, work, counted=counted)

    async def upload(self, principal: Principal, size: int, options: IngestOptions) -> IngestOptions:
        """Before an upload is processed: within the account's upload limit and storage quota; returns the
        options with the account's default analyses filled in."""
        options = await self.account_settings.upload_options(principal.account_id, size, options)
        await self.quotas.check_storage(principal.account_id, size)
        return options

    async def analyses(self, principal: Principal) -> None:
        await self.quotas.check_ai(principal.account_id)

    async def close(self) -> None:
        await self.rates.close()
