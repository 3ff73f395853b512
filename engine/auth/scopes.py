"""What a caller may do: the closed set of scopes, what each role allows, and the one check.

Every REST route and every registry tool declares the scope it needs. A key made with scopes carries those
(never more than its owner's role allows); a key without, and a login session, carry all its role allows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from engine.errors import Forbidden

if TYPE_CHECKING:
    from engine.auth.keys import Principal, Role


class Scope(StrEnum):
    ASSETS_READ = "assets:read"
    ASSETS_WRITE = "assets:write"
    RENDER = "render"
    SEARCH = "search"
    TOOLS = "tools"
    SCRAPE = "scrape"
    GENERATE = "generate"
    ADMIN = "admin"


ALL_SCOPES: frozenset[str] = frozenset(Scope)
USER_SCOPES: frozenset[str] = ALL_SCOPES - {Scope.ADMIN.value}


def role_scopes(role: Role) -> frozenset[str]:
    """An admin may use every scope; a user every one but ``admin`` (managing users, teams and settings)."""
    return ALL_SCOPES if role.value == "admin" else USER_SCOPES


def effective_scopes(role: Role, granted: frozenset[str] | None) -> frozenset[str] | None:
    """What a key or session may do: its own scopes (all when none were given) within its role's.
    ``None`` stands for every scope (an admin's key made without scopes)."""
    allowed = role_scopes(role)
    if granted is None:
        return None if allowed == ALL_SCOPES else allowed
    return granted & allowed


def require(principal: Principal, scope: Scope) -> None:
    """Raise 403 ``key_scope_denied`` naming the scope unless the caller has it."""
    if principal.scopes is not None and scope.value not in principal.scopes:
        raise Forbidden(
            f"This key or session lacks the scope {scope.value!r} this needs; its scopes: "
            f"{', '.join(sorted(principal.scopes)) or 'none'}. Ask for a key with it.",
            code="key_scope_denied", scope=scope.value,
        )


def has(principal: Principal, scope: Scope) -> bool:
    return principal.scopes is None or scope.value in principal.scopes
