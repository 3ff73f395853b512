"""JSON schemas as the model sees them: the pydantic schema with the noise taken out.

The tool list is read by a model on every turn, so every token counts. Input schemas keep their meaning
(types, enums, bounds, descriptions, defaults) but lose pydantic's generated titles and ``null`` defaults,
``anyOf [T, null]`` becomes ``type: [T, "null"]``, a choice of string formats is one string (the field's
description names them), a tuple of one item type is a bounded list, and fields marked ``deprecated`` (old
names kept for REST clients) are not shown. A field whose default is ``null`` is shown without ``null``: a
model leaves it out (the server still accepts an explicit ``null``). Output schemas are shallow: the top level's fields
with their types; nested objects are just ``object`` (the full shape is in tools.json and llms-full.txt).
A shallow schema is still a true schema: every answer validates against it.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
_SCALARS = {"string", "integer", "number", "boolean", "null"}


def _resolve(node: Schema, defs: dict[str, Schema]) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.removeprefix("#/$defs/")], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _merge_nullable(node: Schema) -> Schema:
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return node
    other = next(option for option in options if option != {"type": "null"})
    if set(other) - {"type", "enum", "format", "minimum", "maximum", "minLength", "maxLength", "pattern"}:
        return node
    kind = other.get("type")
    if not isinstance(kind, str) or kind not in _SCALARS:
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    merged = {**other, **rest, "type": [kind, "null"]}
    if "enum" in merged:
        merged["enum"] = [*merged["enum"], None]
    return merged


def _merge_string_formats(node: Schema) -> Schema:
    """``anyOf [{string, format: date}, {string, format: date-time}, null?]`` as one (nullable) string."""
    options = node.get("anyOf")
    if not isinstance(options, list):
        return node
    kinds = [option.get("type") for option in options]
    if kinds.count("string") < 2 or set(kinds) - {"string", "null"} or any(
        set(option) - {"type", "format"} for option in options
    ):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    return {"type": ["string", "null"] if "null" in kinds else "string", **rest}


def _without_null(node: Schema) -> Schema:
    """An optional field's schema without its ``null`` choice (leaving the field out says the same)."""
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        kept = [option for option in options if option != {"type": "null"}]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}
    return node


def _uniform_tuple(node: Schema) -> Schema:
    """``prefixItems`` of one repeated item schema as ``items`` (the min/max counts keep the length)."""
    items = node.get("prefixItems")
    if not isinstance(items, list) or not items or any(item != items[0] for item in items):
        return node
    return {**{k: v for k, v in node.items() if k != "prefixItems"}, "items": items[0]}


def _clean(node: Any) -> Any:
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = _uniform_tuple(_merge_string_formats(_merge_nullable(node)))
    cleaned: Schema = {}
    for key, value in node.items():
        if key == "title" or (key == "default" and value is None) or (key == "additionalProperties" and value is True):
            continue  # JSON Schema's own defaults: said by saying nothing
        if key == "properties":
            cleaned[key] = {name: _clean(_without_null(sub) if "default" in sub and sub["default"] is None else sub)
                            for name, sub in value.items() if not sub.get("deprecated")}
        elif key == "$defs":
            cleaned[key] = {name: _clean(sub) for name, sub in value.items()}
        elif key == "items" and isinstance(value, dict) and "description" in node:
            cleaned[key] = _clean({k: v for k, v in value.items() if k != "description"})  # the list says it
        elif key == "anyOf" and "description" in node:  # the field says it; an option's docstring repeats it
            cleaned[key] = [_clean({k: v for k, v in option.items() if k != "description"}) for option in value]
        else:
            cleaned[key] = _clean(value)
    if "required" in cleaned and "properties" in cleaned:
        cleaned["required"] = [name for name in cleaned["required"] if name in cleaned["properties"]]
    return cleaned


def _inline(node: Any, defs: dict[str, Schema]) -> Any:
    """Replace ``$ref``s by what they name (the tools' models have no recursive types)."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = _resolve(node, defs)
    return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}


def self_contained(schema: Schema) -> Schema:
    """The schema with its ``$defs`` inlined, so it can be embedded in another document (OpenAPI)."""
    return _inline(schema, schema.get("$defs", {}))


def input_schema(schema: Schema) -> Schema:
    """The full input schema, self-contained, with titles, ``null`` noise and the model's docstring removed.

    The docstring is for developers; the tool description already tells the model what the input is.
    """
    inlined = self_contained(schema)
    inlined.pop("description", None)
    return _clean(inlined)


def _shallow(node: Schema, defs: dict[str, Schema]) -> Schema:
    node = _merge_nullable(_resolve(node, defs))
    if "anyOf" in node:
        options = [_shallow(option, defs) for option in node["anyOf"]]
        kinds = [option.get("type") for option in options]
        if all(isinstance(kind, str) for kind in kinds) and all(set(option) == {"type"} for option in options):
            return {"type": list(dict.fromkeys(kinds))}  # [object, null] rather than anyOf of two
        return {"anyOf": options}
    kind = node.get("type")
    if kind == "array":
        return {"type": "array"}
    if kind == "object" or "properties" in node:
        return {"type": "object"}
    return {"type": node["type"]} if "type" in node else {}


def output_schema(schema: Schema) -> Schema:
    """The top level's fields and their JSON types; nested objects, arrays and enums are not spelled out.

    No ``required`` list: the answer always has every field (unset ones are ``null``).
    """
    defs = schema.get("$defs", {})
    root = _resolve(schema, defs)
    properties = {name: _shallow(sub, defs) for name, sub in root.get("properties", {}).items()}
    return {"type": "object", "properties": properties}
