"""Account-level settings an admin changes at run time (disabled tools, default analyses, upload limit)."""

from engine.account_settings.models import AccountSettings, SettingKey, SettingValue
from engine.account_settings.service import AccountSettingsService

__all__ = ["AccountSettings", "AccountSettingsService", "SettingKey", "SettingValue"]
