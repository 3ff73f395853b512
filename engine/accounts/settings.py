"""Settings of people's logins: session lifetime, login throttling, password rules and hashing cost."""

from __future__ import annotations

from pydantic import BaseModel, Field


class AccountSettings(BaseModel):
    session_ttl_h: float = Field(default=24.0, gt=0, le=24 * 90, description="How long a login session lasts.")
    login_attempts_per_user: int = Field(
        default=10, ge=1, description="Failed logins of one username per login_window_s before its logins are refused (429).")
    login_attempts_per_ip: int = Field(
        default=30, ge=1, description="Failed logins from one client address per login_window_s before its logins are refused.")
    login_window_s: float = Field(default=60.0, gt=0, le=3600)
    password_min_length: int = Field(default=8, ge=1, le=128)
    argon2_memory_kib: int = Field(
        default=65536, ge=1024, description="argon2id memory cost per password hash (OWASP: 19 MiB or more).")
    argon2_time_cost: int = Field(default=3, ge=1, le=10)
