"""The JSON Schema of ``results.json``, the machine-readable half of the report.

A document looks like this (values shortened)::

    {
      "format": "backproplab-report/1",
      "complete": true,                      # false while a run is interrupted or in progress
      "passed": false,                       # complete, no lesson errors, every claim passes
      "settings": {"quick": true, "seed": 0, "device": "cpu", "lessons": ["xor", "digits"]},
      "runs": [{"quick": true, "seed": 0, "device": "cpu", "lessons": ["xor", "digits"]}],
      "versions": {"backproplab": "0.1.0", "python": "3.11.2", "numpy": "1.26.4", ...},
      "summary": {"lessons": 2, "lessons_done": 2, "lessons_failed": 1, "claims": 9,
                  "claims_passed": 8, "claims_failed": 1},
      "lessons": {
        "xor": {"title": "...", "status": "done", "passed": true,
                "params": {...}, "claims": [{"name": ..., "value": ..., "bound": "<= 0.05",
                                             "passed": true, "evidence": "..."}],
                "tables": {"name": [{"col": value}]}, "text": {"name": "markdown"},
                "figures": {"loss": "figures/xor/loss.png"}, "error": null},
        ...
      },
      "timings": {"total_s": 12.3, "lessons": {"xor": 1.2, "digits": 11.1},
                  "parts": {"fashion": {"train cnn": 11.3}}}
    }

``settings`` are those of the run that wrote the document (``lessons``: the ones it was asked to
run; ``threads``, only when ``--threads`` capped the torch and BLAS threads: how many; older
documents and runs on every core lack it). ``runs`` says which settings produced which lessons: one item for a plain run; with
``reproduce --only`` into an earlier report, this run's item first, then the earlier runs' items for
the lessons kept from them. Documents written before ``runs`` existed lack it (it is optional here).

Everything except ``timings`` is a pure function of the code, the settings and the machine's library
versions, so two runs with one seed compare equal once ``timings`` is dropped. Figure paths are
relative to the report directory.
"""

from __future__ import annotations

import re
from typing import Any

FORMAT = "backproplab-report/1"

NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}"
"""A file or folder name the report makes (``_slug``): no ``/``, no leading dot, at most 120 characters."""

FIGURE_PATTERN = rf"^figures/{NAME_PATTERN}/{NAME_PATTERN}\.png$"
"""A figure path in ``results.json``: ``figures/<lesson>/<figure>.png``, relative to the report."""

_CLAIM: dict[str, Any] = {
    "type": "object",
    "required": ["name", "value", "bound", "passed"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "value": {},
        "bound": {"type": "string"},
        "passed": {"type": "boolean"},
        "evidence": {"type": "string"},
    },
    "additionalProperties": False,
}

_TABLE: dict[str, Any] = {"type": "array", "items": {"type": "object"}}

_LESSON: dict[str, Any] = {
    "type": "object",
    "required": ["title", "status", "passed", "params", "claims", "tables", "text", "figures", "error"],
    "properties": {
        "title": {"type": "string"},
        "status": {"enum": ["done", "error", "pending"]},
        "passed": {"type": "boolean"},
        "params": {"type": "object"},
        "claims": {"type": "array", "items": _CLAIM},
        "tables": {"type": "object", "additionalProperties": _TABLE},
        "text": {"type": "object", "additionalProperties": {"type": "string"}},
        "figures": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": FIGURE_PATTERN},
        },
        "error": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["type", "message", "traceback"],
                    "properties": {
                        "type": {"type": "string"},
                        "message": {"type": "string"},
                        "traceback": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
    },
    "additionalProperties": False,
}

_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}

_RUN: dict[str, Any] = {
    "type": "object",
    "required": ["quick", "seed", "device", "lessons"],
    "properties": {
        "quick": {"type": "boolean"},
        "seed": {"type": "integer", "minimum": 0},
        "device": {"type": "string", "minLength": 1},
        "lessons": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}

RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "backproplab reproduce results.json",
    "type": "object",
    "required": ["format", "complete", "passed", "settings", "versions", "summary", "lessons", "timings"],
    "properties": {
        "format": {"const": FORMAT},
        "complete": {"type": "boolean"},
        "passed": {"type": "boolean"},
        "settings": {
            "type": "object",
            "required": ["quick", "seed", "device", "lessons"],
            "properties": {
                "quick": {"type": "boolean"},
                "seed": {"type": "integer"},
                "device": {"type": "string", "minLength": 1},
                "lessons": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "threads": {"type": "integer", "minimum": 1},  # only when --threads capped them
            },
            "additionalProperties": False,
        },
        "versions": {
            "type": "object",
            "required": ["backproplab", "python", "numpy", "torch", "matplotlib"],
            "additionalProperties": {"type": ["string", "null"]},
        },
        "summary": {
            "type": "object",
            "required": ["lessons", "lessons_done", "lessons_failed", "claims", "claims_passed",
                         "claims_failed"],
            "properties": {key: _COUNT for key in ("lessons", "lessons_done", "lessons_failed", "claims",
                                                   "claims_passed", "claims_failed")},
            "additionalProperties": False,
        },
        "lessons": {"type": "object", "minProperties": 1, "additionalProperties": _LESSON},
        "runs": {"type": "array", "minItems": 1, "items": _RUN},
        "timings": {
            "type": "object",
            "required": ["total_s", "lessons"],
            "properties": {
                "total_s": {"type": "number", "minimum": 0},
                "lessons": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
                "parts": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": {"type": "number", "minimum": 0}}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


# --------------------------------------------------------------------------------------------
# a small validator for the keywords used above (jsonschema is a test dependency only)


def schema_errors(doc: Any, schema: dict[str, Any] | None = None, where: str = "results.json",
                  limit: int = 5) -> list[str]:
    """Where ``doc`` breaks ``schema`` (default :data:`RESULTS_SCHEMA`): up to ``limit`` lines.

    Understands the keywords this module uses: ``type``, ``const``, ``enum``, ``required``,
    ``properties``, ``additionalProperties``, ``items``, ``minItems``, ``minProperties``,
    ``minLength``, ``minimum``, ``pattern`` and ``oneOf``. Each line names the place, e.g.
    ``results.json["lessons"]["xor"]["claims"][0]: lacks "passed"``. Iterative: a deeply nested
    document costs no recursion beyond the schema's own depth.
    """
    errors: list[str] = []
    _check(doc, RESULTS_SCHEMA if schema is None else schema, where, errors, limit)
    if schema is None and not errors:  # what the keywords cannot say: an error exactly when status is "error"
        for name, entry in doc["lessons"].items():
            if (entry["status"] == "error") != isinstance(entry["error"], dict):
                errors.append(f"{where}[\"lessons\"][{name!r}]: status {entry['status']!r} with error "
                              f"{_short(entry['error'])}; a lesson holds an error exactly when its status is "
                              "'error'")  # the HTML page read error["type"] of None: a traceback
    return errors[:limit]


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(value: Any, kind: str | list) -> bool:
    if isinstance(kind, list):
        return any(_type_ok(value, k) for k in kind)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def _short(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else "a huge integer"
    return text if len(text) <= 60 else text[:57] + "..."


def _check(value: Any, schema: dict[str, Any], where: str, errors: list[str], limit: int) -> None:
    if len(errors) >= limit:
        return
    if "type" in schema and not _type_ok(value, schema["type"]):
        errors.append(f"{where}: expected {schema['type']}, got {_short(value)}")
        return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: expected {schema['const']!r}, got {_short(value)}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: expected one of {schema['enum']}, got {_short(value)}")
    if "oneOf" in schema:
        if sum(not _errors_of(value, s, where) for s in schema["oneOf"]) != 1:
            errors.append(f"{where}: does not have the expected form, got {_short(value)}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: expected at least {schema['minLength']} character(s), got {value!r}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {_short(value)} does not match {schema['pattern']}")
    if _type_ok(value, "number") and "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: expected >= {schema['minimum']}, got {_short(value)}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: expected at least {schema['minItems']} item(s), got {len(value)}")
        for i, item in enumerate(value if "items" in schema else []):
            _check(item, schema["items"], f"{where}[{i}]", errors, limit)
    if isinstance(value, dict):
        _check_object(value, schema, where, errors, limit)


def _errors_of(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    _check(value, schema, where, errors, 1)
    return errors


def _check_object(value: dict, schema: dict[str, Any], where: str, errors: list[str], limit: int) -> None:
    missing = [key for key in schema.get("required", []) if key not in value]
    if missing:
        errors.append(f"{where}: lacks {', '.join(map(repr, missing))}")
    if len(value) < schema.get("minProperties", 0):
        errors.append(f"{where}: expected at least {schema['minProperties']} entry(ies), got {len(value)}")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        place = f"{where}[{_short(key)}]"
        if key in properties:
            _check(item, properties[key], place, errors, limit)
        elif extra is False:
            errors.append(f"{where}: unexpected key {_short(key)}")
        elif isinstance(extra, dict):
            _check(item, extra, place, errors, limit)
        if len(errors) >= limit:
            return
