"""The keep rule of the notebook checker: which top-level statements of a cell define something.

Kept (docs/checking.md, "Notebooks: what runs"), in the order of the cells:

* ``import`` and ``from … import``, ``def``, ``class``;
* an assignment (``=``, or annotated) to a name or to a tuple/list of names (unpacking,
  ``a_, b_ = True, False``) whose value is *side-effect free*:

  - a literal (numbers, strings, bytes, ``True``/``False``/``None``, and tuples, lists, dicts and
    sets of them);
  - a name, or an attribute chain on a name (``torch.sigmoid``), where the name is a builtin or was
    defined by a statement kept before it (an import, a ``def``, a kept assignment);
  - a ``lambda`` (a definition, like ``def``) whose default values are side-effect free;
  - tuple, list, set and dict displays, unary, binary and boolean operators, comparisons and
    ``x if c else y`` of side-effect-free operands (a power or left shift only by a number written
    out, at most 10,000: ``10 ** 10 ** 10`` would compute for minutes).

Never a call (``bool(1)``, ``torch.randn(4)``: a call may load data or train a network), a
subscript, a comprehension or an f-string. :func:`why_dropped` says, for a statement the rule
drops, which part of the rule dropped it; the checker tells the student so.

A ``def`` or ``class`` runs code when it is defined: its decorators, default values, annotations (unless
``from __future__ import annotations`` makes them strings), a class's bases and keywords and the
statements of its body. :func:`definition_reads` names what that code reads; the checker drops a
definition that reads a name no kept statement before it defines (``def train(model, lr=lr)`` after a
dropped ``lr = compute_lr()``): loading it would fail, and with it the whole module.
"""

from __future__ import annotations

import ast
import builtins

BUILTINS = frozenset(dir(builtins))
#: How :func:`why_dropped` ends the reason for a call (left out where a reason is quoted in another).
NO_CALLS = ", and no call at the top level of a cell is run (a call may load data or train a network)"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)
#: The most unknown names :func:`why_dropped` lists.
_NAMED = 5
_BLOCKS = {ast.For: "for", ast.AsyncFor: "async for", ast.While: "while", ast.If: "if", ast.With: "with",
           ast.AsyncWith: "async with", ast.Try: "try", ast.Match: "match"}


def literal(node: ast.AST) -> bool:
    """``node`` is a literal value (what :func:`ast.literal_eval` accepts)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def target_names(target: ast.expr) -> list[str] | None:
    """The names an assignment target binds (``a``, ``a, (b, *c)``); None for an attribute or item."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        names = [target_names(t) for t in target.elts]
        return None if any(n is None for n in names) else [x for n in names for x in n]
    return None


def _chain(node: ast.expr, known: set[str]) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and (node.id in known or node.id in BUILTINS)


def keepable(node: ast.expr | None, known: set[str]) -> bool:
    """``node`` is a side-effect-free value (the module's docstring) given the names ``known`` so far."""
    if node is None:
        return True
    if literal(node):
        return True
    if isinstance(node, ast.Name | ast.Attribute):
        return _chain(node, known)
    if isinstance(node, ast.Lambda):
        return all(keepable(d, known) for d in [*node.args.defaults, *node.args.kw_defaults])
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(not isinstance(e, ast.Starred) and keepable(e, known) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and keepable(k, known) for k in node.keys) and \
            all(keepable(v, known) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow | ast.LShift) and not _small(node.right):
        return False  # 10 ** 10 ** 10 would compute for minutes when the module is loaded
    parts = {ast.UnaryOp: lambda n: [n.operand], ast.BinOp: lambda n: [n.left, n.right],
             ast.BoolOp: lambda n: n.values, ast.Compare: lambda n: [n.left, *n.comparators],
             ast.IfExp: lambda n: [n.test, n.body, n.orelse]}
    for kind, operands in parts.items():
        if isinstance(node, kind):
            return all(keepable(o, known) for o in operands(node))
    return False


def _small(node: ast.expr) -> bool:
    """``node`` is a number written out (``3``, ``-0.5``) of at most 10,000 in size: a safe exponent."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and \
        not isinstance(node.value, bool) and abs(node.value) <= 10_000


def _targets(stmt: ast.stmt) -> list[ast.expr]:
    return list(stmt.targets) if isinstance(stmt, ast.Assign) else [stmt.target]


def kept(stmt: ast.stmt, known: set[str]) -> bool:
    """The rule for one top-level statement, given the names defined by the statements kept before it."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
        return True
    if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
        return all(target_names(t) is not None for t in _targets(stmt)) and keepable(stmt.value, known)
    return False


def defines(stmt: ast.stmt) -> list[str]:
    """The names a kept statement defines (an import's bound names included; ``*`` adds none)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [stmt.name]
    if isinstance(stmt, ast.Import):
        return [a.asname or a.name.split(".")[0] for a in stmt.names]
    if isinstance(stmt, ast.ImportFrom):
        return [a.asname or a.name for a in stmt.names if a.name != "*"]
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        return [n for t in _targets(stmt) for n in target_names(t) or []]
    return []


def _outside_scopes(node: ast.AST):
    """``node`` and what it holds, not looking into function, class, lambda or comprehension bodies."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPES):
            yield child
        else:
            yield from _outside_scopes(child)


def binds(stmt: ast.stmt) -> list[str]:
    """The names a top-level statement would bind when run (assignment and loop targets, ``with … as``,
    defs, classes and imports nested in its blocks): what is missing when the rule drops it."""
    names = []
    for node in _outside_scopes(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
            names += defines(node)
    return list(dict.fromkeys(names))


def _merge(reads: dict[str, str], more: dict[str, str]) -> None:
    for name, part in more.items():
        reads.setdefault(name, part)


def _evaluated(node: ast.AST, part: str, lazy: bool) -> dict[str, str]:
    """The names ``node`` reads when it runs, not in the bodies of what it defines (each -> ``part``)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return definition_reads(node, lazy)
    reads: dict[str, str] = {}
    if isinstance(node, ast.Lambda):
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            _merge(reads, _evaluated(default, part, lazy) if default is not None else {})
    elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        bound = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        for sub in ast.walk(node):  # a comprehension runs at once (in a scope of its own)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in bound:
                reads.setdefault(sub.id, part)
    else:
        for sub in _outside_scopes(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                reads.setdefault(sub.id, part)
            elif sub is not node and isinstance(sub, _SCOPES):
                _merge(reads, _evaluated(sub, part, lazy))
    return reads


def _annotations(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    a = fn.args
    args = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x is not None)]
    return [x.annotation for x in args if x.annotation is not None] + ([fn.returns] if fn.returns else [])


def definition_reads(stmt: ast.stmt, lazy: bool = False) -> dict[str, str]:
    """The names a ``def`` or ``class`` reads when it is *defined* (not when it is called), each with the
    part that reads it first ("a decorator", "a default value", "an annotation", "a base class", "its
    class body"); ``lazy``: annotations are not evaluated (``from __future__ import annotations``). A
    class body's own names are left out. Empty for any other statement."""
    parts: list[tuple[ast.AST, str]] = []
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        parts += [(d, "a decorator") for d in stmt.decorator_list]
        parts += [(d, "a default value") for d in [*stmt.args.defaults, *stmt.args.kw_defaults] if d is not None]
        parts += [] if lazy else [(a, "an annotation") for a in _annotations(stmt)]
    elif isinstance(stmt, ast.ClassDef):
        parts += [(d, "a decorator") for d in stmt.decorator_list]
        parts += [(b, "a base class") for b in [*stmt.bases, *(k.value for k in stmt.keywords)]]
        body = [s.value if lazy and isinstance(s, ast.AnnAssign) else s for s in stmt.body]
        parts += [(s, "its class body") for s in body if s is not None]
    reads: dict[str, str] = {}
    for node, part in parts:
        _merge(reads, _evaluated(node, part, lazy))
    if isinstance(stmt, ast.ClassDef):
        own = {name for s in stmt.body for name in binds(s)}
        reads = {name: part for name, part in reads.items() if name not in own}
    return reads


def why_dropped(stmt: ast.stmt, known: set[str]) -> str:
    """Which part of the rule dropped ``stmt`` (a statement :func:`kept` refuses), in words."""
    block = next((word for kind, word in _BLOCKS.items() if isinstance(stmt, kind)), None)
    if block:
        return f"it is inside a top-level `{block}` block, which is not run"
    if isinstance(stmt, ast.AugAssign):
        return "an augmented assignment (`+=`, …) changes a value instead of defining one"
    if not isinstance(stmt, ast.Assign | ast.AnnAssign):
        return "the statement is not a definition"
    if any(target_names(t) is None for t in _targets(stmt)):
        return "it assigns to an attribute or an item, which changes an object instead of defining a name"
    if stmt.value is None:
        return "an annotation without a value defines nothing"
    nodes = list(_outside_scopes(stmt.value))
    call = next((n for n in nodes if isinstance(n, ast.Call)), None)
    if call is not None:
        return f"its value calls {_short(call.func)}(…){NO_CALLS}"
    unknown = list(dict.fromkeys(n.id for n in nodes if isinstance(n, ast.Name) and n.id not in known
                                 and n.id not in BUILTINS))
    if unknown:  # a few named: the reason is kept for each name the statement binds (5,000 each way made 170 MB)
        more = f" and {len(unknown) - _NAMED} more" if len(unknown) > _NAMED else ""
        return f"its value uses {', '.join(unknown[:_NAMED])}{more}, which no statement kept before it defines"
    return ("its value is not one the rule keeps (literals; names and attributes; lambdas; displays and "
            "operators of those)")


def _short(node: ast.AST, limit: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[:limit - 1] + "…"
