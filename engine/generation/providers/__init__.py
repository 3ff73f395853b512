"""The four provider adapters, built from settings over one HTTP client."""

from __future__ import annotations

import httpx2

from engine.generation.providers.base import Provider
from engine.generation.providers.fal import FalQueue
from engine.generation.providers.imagen import ImagenGemini
from engine.generation.providers.openai import OpenAIImages
from engine.generation.providers.replicate import ReplicatePredictions
from engine.generation.settings import GenerateSettings, ProviderName


def build_providers(settings: GenerateSettings, client: httpx2.AsyncClient) -> dict[ProviderName, Provider]:
    return {
        ProviderName.OPENAI: OpenAIImages(settings.openai, client),
        ProviderName.IMAGEN: ImagenGemini(settings.imagen, client),
        ProviderName.FAL: FalQueue(settings.fal, client),
        ProviderName.REPLICATE: ReplicatePredictions(settings.replicate, client),
    }
