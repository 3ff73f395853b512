"""A client nobody here wrote: the MCP Inspector's CLI lists the tools and calls one on ``picsha mcp``.

The Inspector is installed by ``make mcp-inspector`` (npm, into tests/mcp/inspector/node_modules).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "inspector"
INSPECTOR = HERE / "node_modules" / ".bin" / "mcp-inspector"
PICSHA = str(Path(sys.executable).with_name("picsha"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not INSPECTOR.exists() or shutil.which("node") is None,
        reason="MCP Inspector not installed: run `make mcp-inspector` (needs node and npm)",
    ),
]


def inspect(data_dir: Path, *args: str) -> dict[str, object]:
    # The Inspector hands the server only a few variables of its own environment: pass the data folder.
    done = subprocess.run(
        [str(INSPECTOR), "--cli", "-e", f"PICSHA_DATA_DIR={data_dir}", PICSHA, "mcp", *args], cwd=HERE,
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_inspector_lists_tools_and_calls_one(tmp_path: Path) -> None:
    listed = inspect(tmp_path, "--method", "tools/list")
    names = [tool["name"] for tool in listed["tools"]]  # type: ignore[index, union-attr]
    assert {"upload_asset", "get_asset", "render_asset", "run_image_tool"} <= set(names)
    assert "get_usage" not in names  # REST and pipelines only: this client refuses a tool it was not shown
    called = inspect(tmp_path, "--method", "tools/call", "--tool-name", "list_image_tools")
    assert called["isError"] is False
    tools = {tool["id"] for tool in called["structuredContent"]["tools"]}  # type: ignore[index]
    assert {"resize", "compress", "remove-background"} <= tools
