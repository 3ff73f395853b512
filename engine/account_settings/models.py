"""Account settings an admin changes at run time: the keys, their values, and how each is checked."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from engine.enrich.settings import AnalysisDefaults
from engine.errors import InvalidInput, NotFound


class SettingKey(StrEnum):
    DISABLED_TOOLS = "disabled_tools"
    DEFAULT_ANALYSIS = "default_analysis"
    MAX_UPLOAD_BYTES = "max_upload_bytes"


class AccountSettings(BaseModel):
    """The account's settings in force (``GET /v1/settings``): each key's stored value, else the server's."""

    disabled_tools: list[str] = Field(
        default_factory=list, description="Tool ids this account's keys may not call (MCP, REST, pipelines).")
    default_analysis: AnalysisDefaults = Field(
        default_factory=AnalysisDefaults,
        description="The analysis flags an upload gets when its config leaves one unset.")
    max_upload_bytes: int = Field(description="Largest file this account may upload (at most the server's cap).")
    server_max_upload_bytes: int = Field(description="The server's cap (not a setting: the operator's).")


class SettingValue(BaseModel):
    value: Any = Field(description="The new value; null resets the key to the server's default.")


def unknown_key(key: str) -> NotFound:
    keys = [k.value for k in SettingKey]
    return NotFound(f"No setting {key!r}. Settings: {', '.join(keys)}.", code="setting_not_found", valid=keys)


def checked(key: SettingKey, value: Any, *, tools: Collection[str], server_cap: int) -> Any:
    """The value to store for ``key`` (None: remove it), or ``InvalidInput`` naming what is valid."""
    if value is None:
        return None
    if key is SettingKey.DISABLED_TOOLS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid(key, "a JSON array of tool ids", valid=sorted(tools))
        unknown = sorted(set(value) - set(tools))
        if unknown:
            raise _invalid(key, f"tool ids; unknown: {', '.join(unknown)}", valid=sorted(tools))
        return sorted(set(value))
    if key is SettingKey.DEFAULT_ANALYSIS:
        flags = list(AnalysisDefaults.model_fields)
        if not isinstance(value, dict) or set(value) - set(flags) or not all(isinstance(v, bool) for v in value.values()):
            raise _invalid(key, f"an object of true/false flags among: {', '.join(flags)}", valid=flags)
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= server_cap:
        raise _invalid(key, f"a whole number of bytes from 1 to the server's cap, {server_cap}", valid=[1, server_cap])
    return value


def _invalid(key: SettingKey, what: str, *, valid: list[Any]) -> InvalidInput:
    return InvalidInput(f"The setting {key.value!r} takes {what}.", code="setting_invalid", key=key.value, valid=valid)


def effective(stored: dict[str, Any], *, analysis: AnalysisDefaults, server_cap: int) -> AccountSettings:
    try:
        flags = AnalysisDefaults.model_validate(analysis.model_dump() | stored.get(SettingKey.DEFAULT_ANALYSIS, {}))
    except ValidationError:  # a stored value an older version accepted: the server's defaults stand
        flags = analysis
    return AccountSettings(
        disabled_tools=list(stored.get(SettingKey.DISABLED_TOOLS, [])),
        default_analysis=flags,
        max_upload_bytes=min(int(stored.get(SettingKey.MAX_UPLOAD_BYTES, server_cap)), server_cap),
        server_max_upload_bytes=server_cap,
    )
