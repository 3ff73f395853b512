"""Accounts, API keys (stored as SHA-256 hashes) and HMAC-signed URLs."""

from engine.auth.keys import ApiKeyInfo, KeyService, Principal, Role
from engine.auth.signing import UrlSigner

__all__ = ["ApiKeyInfo", "KeyService", "Principal", "Role", "UrlSigner"]
