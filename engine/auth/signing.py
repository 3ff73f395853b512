"""HMAC-SHA256 signed URLs: a path plus a normalised query, a key id (keys rotate) and an optional expiry.

The signature covers the path and every query parameter but ``sig`` itself, sorted, so the order in
which a client writes the parameters does not matter, and changing any one of them breaks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from engine.errors import Forbidden
from engine.numerals import ascii_int

SIGNATURE_PARAMS = ("kid", "exp", "sig")
SEAL_PATH, SEAL_TAG = "/sealed", 32  # 32 base64 characters: 192 bits of the HMAC
MEMO_MAX = 4096  # signed URLs without expiry remembered (the same asset's links are signed on every answer)


def _canonical(path: str, params: Mapping[str, str]) -> bytes:
    items = sorted((k, v) for k, v in params.items() if k != "sig")
    return f"{path}?{urlencode(items)}".encode()


class UrlSigner:
    def __init__(self, keys: Mapping[str, bytes], *, default_ttl_s: int | None = None):
        if not keys:
            raise ValueError("at least one signing key is required")
        self.keys = dict(keys)
        self.current_kid = next(iter(self.keys))
        self.default_ttl_s = default_ttl_s
        self._memo: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}

    def _mac(self, kid: str, path: str, params: Mapping[str, str]) -> str:
        digest = hmac.new(self.keys[kid], _canonical(path, params), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, path: str, params: Mapping[str, str] | None = None, *, ttl_s: int | None = None) -> str:
        """Return ``path?query`` with ``kid``, optional ``exp`` and ``sig`` added."""
        query = {k: str(v) for k, v in (params or {}).items() if k not in SIGNATURE_PARAMS}
        ttl = ttl_s if ttl_s is not None else self.default_ttl_s
        memo_key = (self.current_kid, path, tuple(query.items())) if ttl is None else None
        if memo_key is not None and (known := self._memo.get(memo_key)) is not None:
            return known  # without an expiry the same path and query always sign the same
        query["kid"] = self.current_kid
        if ttl is not None:
            query["exp"] = str(int(time.time()) + ttl)
        query["sig"] = self._mac(self.current_kid, path, query)
        signed = f"{path}?{urlencode(sorted(query.items()))}"
        if memo_key is not None:
            if len(self._memo) >= MEMO_MAX:
                self._memo.pop(next(iter(self._memo)))
            self._memo[memo_key] = signed
        return signed

    def seal(self, value: str) -> str:
        """``value`` and a tag only these keys can make: a token that names ``value`` and cannot be guessed or
        altered (share links, their unlock cookies). ``value`` must not contain '~'."""
        return f"{value}~{self._mac(self.current_kid, SEAL_PATH, {'v': value})[:SEAL_TAG]}"

    def unseal(self, token: str) -> str | None:
        """The value a ``seal`` token names, or ``None`` when no key made its tag."""
        value, _, tag = token.rpartition("~")
        if not value or len(tag) != SEAL_TAG:
            return None
        made = [self._mac(kid, SEAL_PATH, {"v": value})[:SEAL_TAG] for kid in self.keys]
        return value if any(hmac.compare_digest(tag, mac) for mac in made) else None

    @staticmethod
    def is_signed(params: Mapping[str, str]) -> bool:
        return "sig" in params

    def verify(self, path: str, params: Mapping[str, str]) -> None:
        """Raise ``Forbidden`` unless the signature is valid and unexpired."""
        kid, sig = params.get("kid", ""), params.get("sig", "")
        if kid not in self.keys:
            raise Forbidden("The signed URL names an unknown signing key.", code="signature_invalid")
        if not hmac.compare_digest(self._mac(kid, path, params), sig):
            raise Forbidden("The URL signature does not match; the URL was altered.", code="signature_invalid")
        expiry = params.get("exp")
        if expiry is not None and ((seconds := ascii_int(expiry)) is None or seconds < time.time()):
            raise Forbidden("The signed URL has expired; ask for a fresh one.", code="signature_expired")
