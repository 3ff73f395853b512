"""Signed upload URLs: one resumable upload's URL, signed for its account, usable without a key until it expires.

An agent with a shell but without the API key (``create_upload``) sends a large file straight to it with
curl or any TUS client; the signature covers the upload's path, so it opens that one upload only.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.auth.signing import UrlSigner

RESUMABLE_PATH = "/v1/upload/resumable"
ACCOUNT_PARAM = "acct"


def signed_upload_url(signer: UrlSigner, public_url: str, *, account_id: str, upload_id: str, ttl_s: int) -> str:
    path = signer.sign(f"{RESUMABLE_PATH}/{upload_id}", {ACCOUNT_PARAM: account_id}, ttl_s=ttl_s)
    return public_url.rstrip("/") + path


def signed_account(signer: UrlSigner, path: str, params: Mapping[str, str]) -> str | None:
    """The account an upload URL was signed for; None when the URL is not signed (``Forbidden`` when the
    signature is wrong or expired)."""
    if not signer.is_signed(params) or path.rstrip("/") == RESUMABLE_PATH:
        return None
    signer.verify(path, params)
    return params.get(ACCOUNT_PARAM) or None
