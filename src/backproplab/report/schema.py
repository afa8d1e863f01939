"""The JSON Schema of ``results.json``, the machine-readable half of the report.

A document looks like this (values shortened)::

    {
      "format": "backproplab-report/1",
      "complete": true,                      # false while a run is interrupted or in progress
      "passed": false,                       # complete, no lesson errors, every claim passes
      "settings": {"quick": true, "seed": 0, "device": "cpu", "lessons": ["xor", "digits"]},
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

Everything except ``timings`` is a pure function of the code, the settings and the machine's library
versions, so two runs with one seed compare equal once ``timings`` is dropped. Figure paths are
relative to the report directory.
"""

from __future__ import annotations

from typing import Any

FORMAT = "backproplab-report/1"

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
            "additionalProperties": {"type": "string", "pattern": r"^figures/[^/]+/[^/]+\.png$"},
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
