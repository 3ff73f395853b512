"""``picsha users`` and ``picsha accounts``, and the admin password of a first start, on a real data folder."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import Engine, Settings
from engine.errors import Unauthorized
from picsha_mcp.cli import app
from picsha_mcp.cli_accounts import first_admin_password

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PICSHA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def log_in(data_dir: Path, username: str, password: str) -> str:
    async def work() -> str:
        async with Engine.open(Settings(data_dir=data_dir), run_jobs=False) as engine:
            return (await engine.accounts.sessions.login(username, password, ip=None)).user.account_id

    return asyncio.run(work())


def first_start(data_dir: Path) -> str | None:
    async def work() -> str | None:
        async with Engine.open(Settings(data_dir=data_dir), run_jobs=False) as engine:
            return await first_admin_password(engine)

    return asyncio.run(work())


def test_a_first_start_prints_the_admins_password_once(data_dir: Path) -> None:
    password = first_start(data_dir)
    assert password and first_start(data_dir) is None
    assert log_in(data_dir, "admin", password) == "acct_owner"


def test_users_create_admin_sets_the_new_installs_admin_password(data_dir: Path) -> None:
    made = runner.invoke(app, ["users", "create", "--admin", "--password-stdin"], input="my own password\n")
    assert made.exit_code == 0, made.output
    assert log_in(data_dir, "admin", "my own password") == "acct_owner"
    assert first_start(data_dir) is None  # an admin can log in: nothing to print
    user = runner.invoke(app, ["users", "create", "--username", "bea"])
    password = re.search(r"password \(shown once\): (\S+)", user.output).group(1)
    assert log_in(data_dir, "bea", password) == "acct_owner"
    listed = runner.invoke(app, ["users", "list"], env={"COLUMNS": "200"})
    assert re.search(r"admin\s.*admin", listed.output) and re.search(r"bea\s.*user", listed.output)
    with pytest.raises(Unauthorized):
        log_in(data_dir, "bea", "not the password")


def test_accounts_create_makes_a_tenant_with_its_admin(data_dir: Path) -> None:
    made = runner.invoke(app, ["accounts", "create", "--name", "Acme", "--admin-username", "acme-boss"])
    assert made.exit_code == 0, made.output
    account_id = re.search(r"(acct_[a-z0-9]+)", made.output).group(1)
    password = re.search(r"password \(shown once\): (\S+)", made.output).group(1)
    assert log_in(data_dir, "acme-boss", password) == account_id
    again = runner.invoke(app, ["accounts", "create", "--name", "Other", "--admin-username", "acme-boss"])
    assert again.exit_code == 1 and "taken" in again.output
    listed = runner.invoke(app, ["accounts", "list"], env={"COLUMNS": "200"})
    assert "Acme" in listed.output and "Other" not in listed.output  # no account left without its admin
