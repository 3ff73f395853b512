"""Make tiktoken's cl100k_base encoding available without internet (for bench/tool_tokens.py).

tiktoken downloads its encodings from a host these machines cannot reach. The file is also shipped inside
the ``litellm`` wheel on PyPI (litellm sets ``TIKTOKEN_CACHE_DIR`` to it for offline use). This script
fetches that wheel with pip (``pip download --no-deps``), copies the one file into ``.cache/tiktoken``
under the name tiktoken's cache expects, and lets tiktoken load it: tiktoken verifies the file's SHA-256
against the hash it pins for cl100k_base, so a wrong file is refused, not used.

    python bench/tiktoken_cache.py     # then: TIKTOKEN_CACHE_DIR=.cache/tiktoken (bench scripts set it)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".cache" / "tiktoken"
SOURCE_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CACHE_NAME = hashlib.sha1(SOURCE_URL.encode()).hexdigest()  # tiktoken's cache key for that URL
WHEEL = "litellm==1.109.1"
MEMBER = f"litellm/litellm_core_utils/tokenizers/{CACHE_NAME}"


def use_cache_dir() -> None:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(CACHE_DIR))


def fetch() -> Path:
    target = CACHE_DIR / CACHE_NAME
    if target.exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL]
        subprocess.run(pip, check=True)
        (wheel,) = Path(tmp).glob("litellm-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read(MEMBER))
    return target


def main() -> int:
    path = fetch()
    use_cache_dir()
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")  # raises if the file's hash is not the pinned one
    print(f"cl100k_base ready in {path.parent} ({encoding.n_vocab} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
