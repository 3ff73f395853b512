"""``picsha doctor``: a table or JSON, exit 1 while problems remain, ``--repair`` settles them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.processes import picsha_env, run_picsha

pytestmark = pytest.mark.slow

ORPHAN = "originals/ab/" + "ab" * 32


def test_doctor_reports_repairs_and_exits_by_what_remains(tmp_path: Path) -> None:
    env = picsha_env(tmp_path / "data")
    clean = run_picsha(env, "doctor")
    assert clean.returncode == 0 and "clean" in clean.stdout, clean.stdout + clean.stderr
    stray = tmp_path / "data" / "blobs" / ORPHAN
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"bytes no asset holds")

    found = run_picsha(env, "doctor", "--json")
    report = json.loads(found.stdout)
    assert found.returncode == 1 and report["clean"] is False
    assert [(f["kind"], f["subject"], f["repaired"]) for f in report["findings"]] == [("orphan_original", ORPHAN, False)]
    table = run_picsha(env, "doctor")
    assert table.returncode == 1 and "orphan_original" in table.stdout and "--repair" in table.stdout

    repaired = run_picsha(env, "doctor", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert json.loads(repaired.stdout)["findings"][0]["repaired"] is True and not stray.exists()
    assert json.loads(run_picsha(env, "doctor", "--json").stdout)["findings"] == []
