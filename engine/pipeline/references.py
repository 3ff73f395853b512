"""``$step.field`` references: parsed, checked against JSON schemas before a run, resolved during it.

A reference is a whole parameter value (``"urls": "$scrape.urls"``), at any depth of the params (inside a
list or an object). Its path walks object fields by name and lists by index (``$find.results.0.id``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]
Path = tuple[str | int, ...]

STEP_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,39}"
_REFERENCE = re.compile(rf"^\$({STEP_NAME})((?:\.[A-Za-z0-9_-]+)+)$")


class SchemaPathError(ValueError):
    """A path that the schema does not have; the message names the valid fields (or says why)."""


@dataclass(frozen=True)
class Reference:
    step: str
    path: Path
    text: str

    @classmethod
    def parse(cls, value: object) -> Reference | None:
        """The reference ``value`` is, or ``None`` for a plain value (``"$5"`` or ``"price $3"`` are plain)."""
        if not isinstance(value, str) or not value.startswith("$"):
            return None
        match = _REFERENCE.match(value)
        if match is None:
            return None
        parts = match.group(2).split(".")[1:]
        return cls(match.group(1), tuple(int(part) if part.isdigit() else part for part in parts), value)

    def resolve(self, outputs: dict[str, Any]) -> Any:
        """The referenced value in the earlier steps' JSON outputs; ``LookupError`` naming what is missing."""
        value: Any = outputs[self.step]
        for depth, part in enumerate(self.path):
            where = ".".join(str(p) for p in self.path[:depth]) or "the output"
            if isinstance(part, int) and isinstance(value, list):
                if part >= len(value):
                    raise LookupError(f"{self.text}: {where} has {len(value)} item(s), so index {part} is out of range.")
                value = value[part]
            elif isinstance(part, str) and isinstance(value, dict) and part in value:
                value = value[part]
            else:
                raise LookupError(f"{self.text}: {where} has no {part!r} in this run's output.")
        return value


def references_in(value: Any, at: Path = ()) -> Iterator[tuple[Path, Reference]]:
    """Every reference in a params value, with where it sits (field names and list indexes)."""
    reference = Reference.parse(value)
    if reference is not None:
        yield at, reference
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from references_in(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references_in(item, (*at, index))


def substitute(value: Any, outputs: dict[str, Any]) -> Any:
    """``value`` with every reference replaced by what it names (``LookupError`` when one is missing)."""
    reference = Reference.parse(value)
    if reference is not None:
        return reference.resolve(outputs)
    if isinstance(value, dict):
        return {key: substitute(item, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, outputs) for item in value]
    return value


class SchemaView:
    """Walks one model's JSON schema (``$defs`` resolved, nullable unions looked through)."""

    def __init__(self, schema: Schema):
        self._defs: dict[str, Schema] = schema.get("$defs", {})
        self.root = self._resolve(schema)

    def _resolve(self, node: Schema) -> Schema:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return self._resolve({**self._defs[ref.removeprefix("#/$defs/")],
                                  **{k: v for k, v in node.items() if k != "$ref"}})
        return node

    def _options(self, node: Schema) -> list[Schema]:
        node = self._resolve(node)
        union = node.get("anyOf") or node.get("oneOf")
        if isinstance(union, list):
            return [option for item in union for option in self._options(item)]
        return [node]

    def at(self, path: Path) -> Schema:
        """The schema at ``path``; ``SchemaPathError`` naming the valid fields where a step goes astray."""
        nodes = [self.root]
        for depth, part in enumerate(path):
            where = ".".join(str(p) for p in path[:depth]) or "the top level"
            options = [option for node in nodes for option in self._options(node) if option.get("type") != "null"]
            if any(not option for option in options):  # an untyped value (a free-form dict) holds anything
                return {}
            if isinstance(part, int):
                nodes = [self._resolve(option.get("items", {})) for option in options if option.get("type") == "array"]
                if not nodes:
                    raise SchemaPathError(f"{where} is not a list, so it has no index {part}.")
                continue
            fields: dict[str, Schema] = {}
            open_ended = False
            for option in options:
                fields.update(option.get("properties", {}))
                extra = option.get("additionalProperties")
                open_ended = open_ended or (option.get("type") == "object" and "properties" not in option) or (
                    isinstance(extra, dict))
            if part in fields:
                nodes = [self._resolve(fields[part])]
            elif open_ended:
                return {}
            else:
                valid = ", ".join(sorted(fields)) or "none (it is not an object)"
                raise SchemaPathError(f"{where} has no field {part!r}; its fields: {valid}.")
        return nodes[0] if len(nodes) == 1 else {"anyOf": nodes}

    def types(self, node: Schema) -> set[str] | None:
        """The JSON types a schema admits, or ``None`` when it admits anything."""
        kinds: set[str] = set()
        for option in self._options(node):
            kind = option.get("type")
            if kind is None:
                if "enum" in option or "const" in option:
                    values = option.get("enum", [option.get("const")])
                    kinds |= {_json_type(value) for value in values}
                    continue
                return None
            kinds |= set(kind) if isinstance(kind, list) else {kind}
        return kinds


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def compatible(given: set[str] | None, wanted: set[str] | None) -> bool:
    """Whether a value of the ``given`` types can fill a place of the ``wanted`` types (unknown fits all)."""
    if given is None or wanted is None:
        return True
    given, wanted = given - {"null"} or given, set(wanted)
    if "number" in wanted:
        wanted |= {"integer"}
    return bool(given & wanted)


def describe(types: set[str] | None) -> str:
    return "any" if types is None else " or ".join(sorted(types))
