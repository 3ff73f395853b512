"""The one registry of agent-facing tools: MCP, REST ``/v1/tools``, tools.json and llms.txt come from it.

How to add a tool (a declaration is plain data; nothing is declared twice):
  1. In a group module (e.g. ``tools_manifest/assets.py``) write the input and output pydantic models.
  2. Write ``async def run(engine, principal, input) -> output`` making one engine call.
  3. Append ``ToolSpec(id=..., title=..., description=..., input=..., output=..., hints=..., cost=..., run=..., scope=...)``
     to that module's ``TOOLS``; a new group module is one line in ``GROUPS`` in ``tools_manifest/registry.py``.
  4. Run ``python -m tools_manifest.generate`` to refresh tools.json, llms.txt, llms-full.txt and the README table.
"""

from tools_manifest.spec import Cost, Hints, ImageAttachment, LinkAttachment, ToolOutput, ToolSpec

__all__ = ["Cost", "Hints", "ImageAttachment", "LinkAttachment", "ToolOutput", "ToolSpec"]
