"""Documents generated from the registry: tools.json, llms.txt, llms-full.txt and the README's tool table."""

from __future__ import annotations

import json
from typing import Any

from tools_manifest.image_tools import ImageToolSpec, image_tools
from tools_manifest.registry import all_tools
from tools_manifest.spec import ToolSpec

INTRO = """# Picsha

> Picsha is a self-hosted media backend for AI agents ("S3 with a brain"): it stores images, PDFs and
> documents, understands them, renders them in any size and format on demand, and finds them again.

Use it through MCP (`picsha mcp` over stdio, or streamable HTTP at `/mcp` with `Authorization: Bearer <key>`)
or through REST: every tool below is also `POST /v1/tools/{id}` with the same JSON in and out, and
`GET /v1/tools` lists them. Asset ids look like `as_...`; the parameter is always called `id`.
Errors have one shape: `{"error": {"code": "...", "message": "..."}}` (MCP: an `isError` result with that JSON).
Images returned to a model are previews (at most 1568 px and 800 KB); full-size renders are signed URLs.
"""


def _hints(spec: ToolSpec[Any, Any]) -> list[str]:
    hints = spec.hints
    named = [("read-only", hints.read_only), ("destructive", hints.destructive),
             ("idempotent", hints.idempotent), ("open-world", hints.open_world)]
    return [name for name, on in named if on]


def tool_entry(spec: ToolSpec[Any, Any]) -> dict[str, Any]:
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "example": spec.example,
        "annotations": {
            "readOnlyHint": spec.hints.read_only, "destructiveHint": spec.hints.destructive,
            "idempotentHint": spec.hints.idempotent, "openWorldHint": spec.hints.open_world,
        },
        "cost": spec.cost.model_dump(mode="json"),
        "scope": spec.scope.value,
        "rest": f"POST /v1/tools/{spec.id}",
        "input_schema": spec.input.model_json_schema(),
        "output_schema": spec.full_output_schema(),
    }


def image_tool_entry(tool: ImageToolSpec) -> dict[str, Any]:
    return tool.entry() | {"rest": f"POST /v1/tools/{tool.id}", "batch": f"POST /v1/tools/{tool.id}/batch"}


def tools_json() -> str:
    body = {"tools": [tool_entry(spec) for spec in all_tools()],
            "image_tools": [image_tool_entry(tool) for tool in image_tools()]}
    return json.dumps(body, indent=2, sort_keys=False) + "\n"


def _call(spec: ToolSpec[Any, Any]) -> str:
    return f"{spec.id}({json.dumps(spec.example)})"


IMAGE_TOOLS_INTRO = """Image tools run on a file (`POST /v1/tools/{id}`, multipart `file` + `settings` JSON, answers the file;
`/batch` with up to 200 `files` answers a ZIP), on stored assets (JSON `{"asset_id", "settings", "save"}`),
in file pipelines (`POST /v1/pipeline/execute`) and for agents through `run_image_tool`."""


def llms_txt() -> str:
    lines = [INTRO, "## Tools", ""]
    for spec in all_tools():
        lines.append(f"- `{spec.id}`: {spec.title}. {spec.description} Example: `{_call(spec)}`")
    lines += ["", "## Image tools", "", IMAGE_TOOLS_INTRO, ""]
    lines += [f"- `{tool.id}` ({tool.category.value}): {tool.description}" for tool in image_tools()]
    lines += ["", "## More", "", "- [llms-full.txt](/llms-full.txt): every tool's input and output schema.",
              "- [tools.json](/v1/tools): the registry as JSON.", "- [OpenAPI](/v1/openapi.json): the REST API.", ""]
    return "\n".join(lines)


def _field_lines(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = []
    for name, field in schema.get("properties", {}).items():
        kind = field.get("type") or ("enum" if "enum" in field else "see schema")
        note = field.get("description", "")
        flag = " (required)" if name in required else ""
        lines.append(f"  - `{name}`{flag}: {json.dumps(kind)}{' - ' + note if note else ''}")
    return lines


def llms_full_txt() -> str:
    lines = [INTRO, "## Tools", ""]
    for spec in all_tools():
        lines += [
            f"### {spec.id}: {spec.title}", "", spec.description, "", f"Example: `{_call(spec)}`", "",
            f"Hints: {', '.join(_hints(spec)) or 'none'}. Cost: {spec.cost.note}. REST: `POST /v1/tools/{spec.id}`.",
            "", "Input:", *_field_lines(spec.input_schema()), "", "Input schema:", "```json",
            json.dumps(spec.input_schema(), indent=1), "```", "", "Output schema:", "```json",
            json.dumps(spec.full_output_schema(), indent=1), "```", "",
        ]
    lines += ["## Image tools", "", IMAGE_TOOLS_INTRO, ""]
    for tool in image_tools():
        operation = tool.operation
        lines += [
            f"### {tool.id}: {tool.title}", "", tool.description, "",
            f"Takes {operation.takes.value} file(s) ({', '.join(operation.formats)}); gives {operation.gives.value}. "
            f"Library: {tool.library}. Cost: {tool.cost.note}.", "", f"Example settings: `{json.dumps(tool.example)}`",
            "", "Settings:", *_field_lines(tool.settings_schema()), "",
        ]
    return "\n".join(lines)


README_BEGIN = "<!-- tools:begin (generated by python -m tools_manifest.generate) -->"
README_END = "<!-- tools:end -->"


def readme_table() -> str:
    rows = ["| tool | what | hints | cost |", "| --- | --- | --- | --- |"]
    for spec in all_tools():
        rows.append(f"| `{spec.id}` | {spec.title} | {', '.join(_hints(spec)) or '-'} | {spec.cost.note} |")
    return "\n".join(rows)


IMAGE_README_BEGIN = "<!-- image-tools:begin (generated by python -m tools_manifest.generate) -->"
IMAGE_README_END = "<!-- image-tools:end -->"


def image_tools_table() -> str:
    rows = ["| tool | category | what | library |", "| --- | --- | --- | --- |"]
    rows += [f"| `{tool.id}` | {tool.category.value} | {tool.description} | {tool.library} |" for tool in image_tools()]
    return "\n".join(rows)


def _with_block(readme: str, begin: str, end: str, table: str) -> str:
    """The README with the text between the markers replaced (markers appended when missing)."""
    block = f"{begin}\n{table}\n{end}"
    if begin not in readme or end not in readme:
        return readme.rstrip("\n") + "\n\n" + block + "\n"
    head, rest = readme.split(begin, 1)
    _old, tail = rest.split(end, 1)
    return head + block + tail


def with_readme_table(readme: str) -> str:
    """The README with both generated tables (agent tools, image tools) brought up to date."""
    readme = _with_block(readme, README_BEGIN, README_END, readme_table())
    return _with_block(readme, IMAGE_README_BEGIN, IMAGE_README_END, image_tools_table())
