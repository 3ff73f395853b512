"""Image tools on the engine: real files staged in a folder, run through the same chain as REST and MCP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyvips
import pytest
from pydantic import BaseModel

from engine.imaging import ImageFile, ToolFile, Workbench
from engine.imaging.chain import check_inputs, run, sniffed
from engine.render.settings import RenderSettings
from tools_manifest.image_tools import get_image_tool

Stage = Callable[[bytes, str], ToolFile]
RunTool = Callable[..., list[ImageFile] | BaseModel]


@pytest.fixture
def bench() -> Workbench:
    return Workbench(render=RenderSettings())


@pytest.fixture
def stage(tmp_path: Path) -> Stage:
    """Write bytes as a named file and sniff it, as the front doors do with an upload."""
    def staged(data: bytes, filename: str) -> ToolFile:
        path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}-{filename}"
        path.write_bytes(data)
        return sniffed(path, filename)
    return staged


@pytest.fixture
def run_tool(tmp_path: Path, bench: Workbench) -> RunTool:
    """``run_tool("resize", [file], {"width": 100})``: the declared tool, its settings parsed strictly."""
    def running(tool_id: str, files: list[ToolFile], settings: dict[str, Any], *, workbench: Workbench | None = None
                ) -> list[ImageFile] | BaseModel:
        spec = get_image_tool(tool_id)
        assert spec is not None, tool_id
        check_inputs(spec.operation, files, tool_id, max_files=200)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        return run([(spec.operation, spec.parse(settings))], files, workbench or bench, work)
    return running


def decoded(file: ImageFile) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(file.data, "")
