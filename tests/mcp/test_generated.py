"""Generated files stay in step with the registry, and every tool declaration is complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from tools_manifest import generate
from tools_manifest.docs import (
    IMAGE_README_BEGIN, IMAGE_README_END, README_BEGIN, README_END, llms_full_txt, llms_txt, tools_json, with_readme_table,
)
from tools_manifest.image_tools import image_tools
from tools_manifest.registry import all_tools


def test_generated_files_are_fresh() -> None:
    assert generate.stale() == [], "run: python -m tools_manifest.generate"


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in generate.GENERATED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "README.md").write_text("# Picsha\n")
    (tmp_path / "llms.txt").write_text("old\n")
    assert set(generate.stale(tmp_path)) == set(generate.GENERATED)
    generate.write(tmp_path)
    assert generate.stale(tmp_path) == []
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# Picsha\n") and README_BEGIN in readme and "`get_usage`" in readme


def test_readme_table_replaces_only_between_markers() -> None:
    readme = (f"intro\n{README_BEGIN}\nold table\n{README_END}\nmiddle\n{IMAGE_README_BEGIN}\nold images\n"
              f"{IMAGE_README_END}\noutro\n")
    out = with_readme_table(readme)
    assert out.startswith("intro\n") and out.endswith("\noutro\n") and "\nmiddle\n" in out
    assert "old table" not in out and "old images" not in out and "| `compress` | essentials |" in out
    assert with_readme_table(out) == out


def test_every_image_tool_is_fully_declared() -> None:
    listed = json.loads(tools_json())["image_tools"]
    assert [entry["id"] for entry in listed] == [tool.id for tool in image_tools()]
    for tool in image_tools():
        assert tool.id.replace("-", "").isalnum() and tool.id.islower() and tool.library
        assert len(tool.description) > 40 and tool.cost.note
        tool.parse(tool.example)  # the example settings are valid settings


def test_every_tool_is_fully_declared() -> None:
    tools = all_tools()
    assert len({tool.id for tool in tools}) == len(tools)
    manifest = json.loads(tools_json())["tools"]
    for spec, entry in zip(tools, manifest, strict=True):
        assert spec.id.replace("_", "").isalpha() and spec.id.islower()
        assert issubclass(spec.input, BaseModel) and issubclass(spec.output, BaseModel)
        assert len(spec.description) > 40 and spec.cost.note
        spec.input.model_validate(spec.example)  # the example call is a valid input
        assert entry["id"] == spec.id and set(entry["annotations"]) == {
            "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"
        }
        assert f"`{spec.id}`" in llms_txt() and f"### {spec.id}:" in llms_full_txt()
        if "id" in spec.input.model_fields:
            assert spec.input.model_fields["id"].is_required()
