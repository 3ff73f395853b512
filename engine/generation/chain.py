"""The chain: which providers a request may use, in which order, each with the key it would use."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import InvalidInput, PicshaError
from engine.generation.models import Attempt, GenerateRequest, QueuedGenerate
from engine.generation.settings import GenerateSettings, ProviderName

KEY_SETTINGS = ", ".join(f"PICSHA_GENERATE__{name.value.upper()}__API_KEY" for name in ProviderName)


class NoProvider(PicshaError):
    status = 503
    code = "generate_no_provider"


@dataclass(frozen=True)
class Candidate:
    name: ProviderName
    key: str = field(repr=False)


def request_keys(request: QueuedGenerate) -> dict[ProviderName, str]:
    """The request's own keys by provider; kept out of every model that is stored or shown."""
    if not isinstance(request, GenerateRequest):
        return {}
    keys: dict[ProviderName, str] = {}
    if request.gemini_key is not None:
        keys[ProviderName.IMAGEN] = request.gemini_key.get_secret_value()
    if request.api_key is not None:
        if request.provider is None:
            raise InvalidInput(
                "api_key is the key of one provider: name it in 'provider' "
                f"(one of: {', '.join(p.value for p in ProviderName)}).",
                code="generate_key_needs_provider", valid=[p.value for p in ProviderName],
            )
        keys[request.provider] = request.api_key.get_secret_value()
    return keys


def order(settings: GenerateSettings) -> list[ProviderName]:
    if settings.order:
        return list(dict.fromkeys(settings.order))
    return sorted(ProviderName, key=lambda name: settings.provider(name).price_per_image_usd)  # stable: ties keep declared order


def candidates(settings: GenerateSettings, *, forced: ProviderName | None,
               keys: dict[ProviderName, str]) -> tuple[list[Candidate], list[Attempt]]:
    """The providers to try in order, and those skipped for want of a key or because they are off."""
    names = [forced] if forced is not None else order(settings)
    usable: list[Candidate] = []
    skipped: list[Attempt] = []
    for name in names:
        configured = settings.provider(name)
        key = keys.get(name) or (configured.api_key.get_secret_value() if configured.api_key else None)
        if not configured.enabled:
            skipped.append(Attempt(provider=name, outcome="not_configured", reason="turned off"))
        elif not key:
            skipped.append(Attempt(provider=name, outcome="not_configured", reason="no API key"))
        else:
            usable.append(Candidate(name=name, key=key))
    if not usable:
        which = f"provider {forced.value!r} is" if forced else "no image provider is"
        raise NoProvider(
            f"Generation is unavailable: {which} configured. Set one of {KEY_SETTINGS} "
            "(and PICSHA_GENERATE__<PROVIDER>__ENABLED=true), or send a key with the request "
            "(api_key with provider, or gemini_key).",
            skipped=[attempt.model_dump(mode="json") for attempt in skipped],
        )
    return usable, skipped
