"""``/v1/settings``: the account's run-time settings; any key reads them, an admin changes them."""

from __future__ import annotations

from fastapi import APIRouter

from engine.account_settings import AccountSettings, SettingValue
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import Access, needs
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from tools_manifest.gate import tool_ids

router = APIRouter(prefix="/v1", tags=["settings"])


@router.get("/settings", response_model=AccountSettings)
@needs(Access.SIGNED_IN)
async def get_settings(engine: EngineDep, principal: PrincipalDep) -> AccountSettings:
    """Every setting in force for this account (its own value, else the server's default)."""
    return await engine.account_settings.get(principal.account_id)


@router.put("/settings/{key}", response_model=AccountSettings,
            responses={403: {"description": "admin_required: only an account admin changes settings."},
                       404: {"description": "setting_not_found: the keys are disabled_tools, default_analysis, "
                             "max_upload_bytes."}})
@needs(Scope.ADMIN)
async def put_setting(key: str, body: SettingValue, engine: EngineDep, principal: PrincipalDep) -> AccountSettings:
    """Set one key (``{"value": ...}``; null resets it). ``disabled_tools``: tool ids; ``default_analysis``:
    analysis flags, e.g. ``{"ocr": false}``; ``max_upload_bytes``: up to the server's cap."""
    return await engine.account_settings.put(principal, key, body.value, tools=tool_ids())
