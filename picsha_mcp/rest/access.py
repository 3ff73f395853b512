"""What each REST route needs of its caller, declared on the route's function with ``@needs(...)``.

A ``Scope``: a key or session allowed it (else 403 ``key_scope_denied``). ``SIGNED_IN``: any valid key or
session. ``PUBLIC``: no caller at all. ``BY_TOOL``: the tool named in the path declares it (the registry).
Read once per request from the matched endpoint (``get_principal``): no extra dependency to resolve. A
route that declares nothing is for admins only, and a test fails on it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from engine.auth.scopes import Scope

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "picsha_needs"


class Access(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    BY_TOOL = "by_tool"


Need = Scope | Access


def needs(need: Need) -> Callable[[F], F]:
    def declare(endpoint: F) -> F:
        setattr(endpoint, ATTRIBUTE, need)
        return endpoint

    return declare


def need_of(endpoint: object) -> Need | None:
    return getattr(endpoint, ATTRIBUTE, None)


def document(app: FastAPI) -> None:
    """Name each operation's need in the OpenAPI document (``x-picsha-needs``), read from the same routes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for context in iter_route_contexts(app.routes):
            need = need_of(context.endpoint)
            path = schema["paths"].get(context.path, {})
            if need is None or not isinstance(context.original_route, APIRoute):
                continue
            for method in context.methods or ():
                if (operation := path.get(method.lower())) is not None:
                    operation["x-picsha-needs"] = need.value
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
