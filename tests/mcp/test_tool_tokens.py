"""The whole tools/list answer stays within 5,000 cl100k_base tokens (bench/tool_tokens.py prints it)."""

from __future__ import annotations

import pytest

from bench.tiktoken_cache import CACHE_DIR, CACHE_NAME, use_cache_dir
from bench.tool_tokens import TARGET, tools_list_json


async def test_tool_list_fits_the_token_budget() -> None:
    if not (CACHE_DIR / CACHE_NAME).exists():
        pytest.skip("cl100k_base not cached: run `make tiktoken-cache` (tiktoken cannot download it offline)")
    use_cache_dir()
    import tiktoken

    whole, each = await tools_list_json()
    tokens = len(tiktoken.get_encoding("cl100k_base").encode(whole))
    assert len(each) >= 7 and tokens <= TARGET, f"{tokens} tokens"
