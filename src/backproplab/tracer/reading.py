"""Reading a network file: JSON with ``json.loads``, YAML with a safe loader that refuses anchors,
aliases and merge keys; bounded in size and nesting, so no file can hang the reader or end in a
traceback. Both refuse a key written twice in one mapping (the last one would silently win), and
YAML reads numbers as YAML 1.2 does (``1e3``, ``2E2``, ``1.0e3`` and ``.5`` are numbers; PyYAML's
YAML 1.1 rules alone would read the first three as text, and ``010`` as 8, ``2:30`` as 150 and
``1_000`` as 1000, where YAML 1.2 reads 10 and two words).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from backproplab.errors import InputError
from backproplab.tracer.network import Network, excerpt, network_from_dict

MAX_FILE_BYTES = 256 * 1024  # the largest network (8 layers of 32 x 32) is about 100 KB of text
MAX_NESTING = 16  # a network file nests 5 levels (top, layers, layer, weights, row)

#: A YAML 1.2 (core schema) float, which PyYAML's YAML 1.1 pattern misses when the number has no dot
#: (``1e3``) or an unsigned exponent (``1.0e3``); with ``.inf`` and ``.nan``.
YAML12_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"
                          r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")
#: A YAML 1.2 (core schema) integer: decimal (leading zeros and all), ``0o`` octal, ``0x`` hexadecimal.
YAML12_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


@cache
def _safe_loader() -> type:
    """PyYAML's safe loader (the C one where built), plus YAML 1.2 floats, refusing duplicate and
    merge (``<<``) keys. A subclass: ``add_implicit_resolver`` copies the resolver table on first
    use, so ``yaml.SafeLoader`` itself is left as it is."""
    import yaml
    from yaml.constructor import ConstructorError

    class NetworkLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict:
            """A mapping whose keys are each written once (and no ``<<`` merge keys)."""
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise ConstructorError(None, None, "merge keys (<<) are not supported; write the "
                                           "keys out", key_node.start_mark)
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:  # an unhashable key: SafeConstructor says so below
                    continue
                if first is not key_node.start_mark:
                    raise ConstructorError(None, None, f"duplicate key {excerpt(key, 40)} (first at line "
                                           f"{first.line + 1}); write each key once", key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml12_int(self, node: Any) -> int:
            text = self.construct_scalar(node)
            if text.startswith(("0o", "0x")):
                return int(text[2:], 8 if text[1] == "o" else 16)
            return int(text, 10)

    # YAML 1.1's numbers out (its octal 010, sexagesimal 2:30, 1_000), YAML 1.2's in, integers first
    NetworkLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    NetworkLoader.add_implicit_resolver(_INT, YAML12_INT, list("-+0123456789"))
    NetworkLoader.add_implicit_resolver(_FLOAT, YAML12_FLOAT, list("-+.0123456789"))
    NetworkLoader.add_constructor(_INT, NetworkLoader.construct_yaml12_int)
    return NetworkLoader


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


class _Duplicated(dict):
    """A JSON object that had a key twice (``key``: the first repeated one); kept, and reported once
    the whole text is read, with the path to it (``json.loads`` gives its hook no position)."""

    key: Any = None


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    """``object_pairs_hook`` of ``json.loads``: a dict, or a :class:`_Duplicated` naming the repeat."""
    data: dict = {}
    repeated = None
    for key, value in pairs:
        if key in data and repeated is None:
            repeated = key
        data[key] = value
    if repeated is None:
        return data
    marked = _Duplicated(data)
    marked.key = repeated
    return marked


def _json_duplicate(data: Any) -> str | None:
    """``"'target' at the top level"`` (or ``in layers[0]``) for the first object with a repeated key."""
    stack = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Duplicated):
            return f"{excerpt(value.key, 40)} {'in ' + path if path else 'at the top level'}"
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k[:30]}" if path else k[:30]) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value))))
    return None


def _parse(text: str, is_json: bool, where: str) -> Any:
    """JSON (``json.loads``) or YAML (:func:`_safe_loader`) text -> plain Python values; ``where``
    names the text in errors (``network file 'net.yaml'``). A key twice in one mapping is an error."""
    import yaml

    try:
        if is_json:
            data = json.loads(text, object_pairs_hook=_json_object)
            if _nesting(data) > MAX_NESTING:
                raise RecursionError
        else:
            loader = _safe_loader()
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
    repeated = _json_duplicate(data)
    if repeated is not None:
        raise InputError(f"{where}: duplicate key {repeated}; write each key once")
    return data


def load_network(path: str | Path) -> Network:
    """Read and validate a network file: ``.json`` with ``json.loads``, anything else with a YAML safe
    loader that refuses anchors, aliases and merge keys; no key twice in one mapping; at most
    ``MAX_FILE_BYTES`` bytes."""
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"network must be a path to a YAML or JSON file, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"network file {str(path)!r} does not exist or is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"network file {str(path)!r} is {size} bytes; at most {MAX_FILE_BYTES} are read")
    try:  # at most one byte past the bound: a file whose size says 0 (/proc, /sys) can hold far more
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:  # e.g. EINVAL from read() on /proc/self/pagemap: 'a file: Invalid argument'
        raise InputError(f"network file {str(path)!r} cannot be read ({err.strerror or err}); expected a "
                         "YAML or JSON text file") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"network file {str(path)!r} holds more than {MAX_FILE_BYTES} bytes; at most "
                         f"{MAX_FILE_BYTES} are read")
    try:
        text = raw.decode("utf-8")
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
