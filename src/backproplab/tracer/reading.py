"""Reading a network file: JSON with ``json.loads``, YAML with a safe loader that refuses anchors
and aliases; bounded in size and nesting, so no file can hang the reader or end in a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backproplab.errors import InputError
from backproplab.tracer.network import Network, excerpt, network_from_dict

MAX_FILE_BYTES = 256 * 1024  # the largest network (8 layers of 32 x 32) is about 100 KB of text
MAX_NESTING = 16  # a network file nests 5 levels (top, layers, layer, weights, row)


def _check_yaml_events(text: str, loader: type) -> None:
    """Refuse anchors/aliases and deep nesting from the event stream, before anything is built.

    Aliases let 400 bytes stand for a structure of billions of nodes (``&a [*a, *a, …]`` nested
    nine times); a network file never needs them. Nesting is counted without recursion.
    """
    import yaml
    from yaml.composer import ComposerError

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "YAML anchors and aliases (&name, *name) are not supported; "
                                "write the values out", event.start_mark)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise ComposerError(None, None, f"nested more than {MAX_NESTING} levels deep "
                                    "(a network file needs 5)", event.start_mark)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _nesting(data: Any) -> int:
    """How deeply lists and mappings nest in ``data`` (0 for a scalar), counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _parse(text: str, is_json: bool, where: str) -> Any:
    """JSON (``json.loads``) or YAML (safe loader, no aliases) text -> plain Python values; ``where``
    names the text in errors (``network file 'net.yaml'``)."""
    import yaml

    try:
        if is_json:
            data = json.loads(text)
            if _nesting(data) > MAX_NESTING:
                raise RecursionError
            return data
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _check_yaml_events(text, loader)
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except json.JSONDecodeError as err:
        raise InputError(f"{where} is not valid JSON: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise InputError(f"{where} is not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise InputError(f"{where} is nested too deeply (a network file needs 5 levels, "
                         f"at most {MAX_NESTING} are read)") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{where}: a value could not be read: {excerpt(str(err), 120)}") from None


def load_network(path: str | Path) -> Network:
    """Read and validate a network file: ``.json`` with ``json.loads``, anything else with a YAML safe
    loader that refuses anchors and aliases; at most ``MAX_FILE_BYTES`` bytes."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"network file {str(path)!r} does not exist or is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"network file {str(path)!r} is {size} bytes; at most {MAX_FILE_BYTES} are read")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"network file {str(path)!r} is not UTF-8 text: {err}") from None
    data = _parse(text, path.suffix.lower() == ".json", f"network file {str(path)!r}")
    return network_from_dict(data, source=path.name)


def network_from_text(text: str, *, is_json: bool = False, source: str = "") -> Network:
    """Read and validate a network written as text (the file format, e.g. a fenced block in a
    notebook): JSON, or YAML read as :func:`load_network` reads a file; at most ``MAX_FILE_BYTES``.

    ``source`` names the text in errors (``"cell 6"``). Raises :class:`InputError` for anything that
    is not a valid network, never another exception.
    """
    where = f"network {source}" if source else "network"
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        raise InputError(f"{where} is {size} bytes; at most {MAX_FILE_BYTES} are read")
    return network_from_dict(_parse(text, is_json, where), source=source)
