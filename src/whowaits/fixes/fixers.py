"""One fixer per rule: a libcst rewrite of the module around a finding, or None when the shape
at that place is not one the fixer can rewrite without guessing.

A fixer only builds the rewritten module and says what it does; whether the fix is safe lives
in the rule's `[autofix]` table, and the engine checks by re-analysis that the finding goes
away and no other one appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst

from whowaits.core import AutofixMeta, Finding
from whowaits.fixes.cst_edit import Located, literal_node, remove_items, string_value, with_text
from whowaits.knowledge.limits import BATCH_ONLY_BETAS, CUSTOM_ID_MAX_LEN, RESULT_TYPE_FIXES


@dataclass
class Target:
    """What a fixer sees: the finding, its parsed module and the run's settings it may use."""

    finding: Finding
    located: Located
    poll_interval_min: float
    autofix: AutofixMeta


Rewrite = Tuple[str, cst.Module]  # (what the fix does, the rewritten module)
Fixer = Callable[[Target], Optional[Rewrite]]
FIXERS: Dict[str, Fixer] = {}  # built-in rule name -> its fixer


def fixer(name: str) -> Callable[[Fixer], Fixer]:
    """Register the fixer of the built-in rule named `name`; its `[autofix]` table says how safe it is."""

    def register(fn: Fixer) -> Fixer:
        FIXERS[name] = fn
        return fn

    return register


def _call_at(t: Target) -> Optional[cst.Call]:
    return t.located.at(t.finding.line, t.finding.col, cst.Call)


# -- results-type-unchecked ---------------------------------------------------------------


@fixer("results-type-unchecked")
def result_type(t: Target) -> Optional[Rewrite]:
    loc = t.located
    literal = loc.at(t.finding.line, t.finding.col, cst.SimpleString)
    if literal is not None:
        value = string_value(literal)
        meant = RESULT_TYPE_FIXES.get(value or "")
        if meant is None:
            return None
        return f'compare with "{meant}"', loc.replace(literal, with_text(literal, meant))
    return _guard_results_loop(t)


def _guard_results_loop(t: Target) -> Optional[Rewrite]:
    """Skip results that did not succeed at the top of the `for` over them, collecting their ids."""
    loc = t.located
    start = next(iter(loc.starting_at(t.finding.line, t.finding.col)), None)
    if start is None:
        return None
    loop: Optional[cst.For] = None
    for node in loc.ancestors(start):
        if isinstance(node, cst.For):
            loop = node
            break
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return None
    if loop is None or not isinstance(loop.target, cst.Name) or not isinstance(loop.body, cst.IndentedBlock):
        return None
    block = loc.parent(loop)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return None
    entry = loop.target.value
    failed = loc.fresh_name("failed_ids")
    guard = cst.parse_statement(
        f'if {entry}.result.type != "succeeded":\n    {failed}.append({entry}.custom_id)\n    continue\n'
    )
    new_loop = loop.with_changes(body=loop.body.with_changes(body=(guard,) + tuple(loop.body.body)))
    init = cst.parse_statement(f"{failed} = []  # errored, canceled and expired results, to resubmit\n")
    body: List[cst.BaseStatement] = []
    for statement in block.body:
        if statement is loop:
            body += [init, new_loop]
        else:
            body.append(statement)
    return (
        f"read `.result.message` only when `result.type == \"succeeded\"`; collect the other ids in `{failed}`",
        loc.replace(block, block.with_changes(body=tuple(body))),
    )


# -- poll-interval-too-short --------------------------------------------------------------


@fixer("poll-interval-too-short")
def poll_sleep(t: Target) -> Optional[Rewrite]:
    call = _call_at(t)
    if call is None or not call.args or call.args[0].keyword is not None:
        return None
    seconds = f"{t.poll_interval_min:g}"
    number = cst.Integer(seconds) if seconds.isdigit() else cst.Float(seconds)
    first = call.args[0].with_changes(value=number)
    new_call = call.with_changes(args=(first,) + tuple(call.args[1:]))
    return f"sleep {seconds} s between polls", t.located.replace(call, new_call)


# -- batch-with-sync-only-feature ---------------------------------------------------------

_SYNC_ONLY_KEYS = ("stream", "speed")


@fixer("batch-with-sync-only-feature")
def batch_sync_only_key(t: Target) -> Optional[Rewrite]:
    loc = t.located
    for node in loc.starting_at(t.finding.line, t.finding.col):
        parent = loc.parent(node)
        if isinstance(parent, cst.DictElement) and parent.value is node:
            key = string_value(parent.key)
            holder = loc.parent(parent)
            if key in _SYNC_ONLY_KEYS and isinstance(holder, cst.Dict):
                return f"drop `{key}` from the batch params", loc.replace(holder, remove_items(holder, [parent]))
        if isinstance(parent, cst.Arg) and parent.value is node and parent.keyword is not None:
            holder = loc.parent(parent)
            if parent.keyword.value in _SYNC_ONLY_KEYS and isinstance(holder, cst.Call):
                return f"drop `{parent.keyword.value}` from the batch params", loc.replace(holder, remove_items(holder, [parent]))
    return None


# -- batch-only-feature-on-sync -----------------------------------------------------------


@fixer("batch-only-feature-on-sync")
def batch_only_beta(t: Target) -> Optional[Rewrite]:
    call = _call_at(t)
    if call is None:
        return None
    new_call, emptied = call, []
    for arg in call.args:
        name = arg.keyword.value if arg.keyword else ""
        value: Optional[cst.BaseExpression] = arg.value
        if name == "betas" and isinstance(arg.value, (cst.List, cst.Tuple)):
            drop = [e for e in arg.value.elements if string_value(e.value) in BATCH_ONLY_BETAS]
            value = remove_items(arg.value, drop) if len(drop) < len(arg.value.elements) else None
        elif name == "extra_headers" and isinstance(arg.value, cst.Dict):
            value = _without_beta_header(arg.value)
        else:
            continue
        if value is None:
            emptied.append(arg)
        elif value is not arg.value:
            new_call = new_call.deep_replace(arg.value, value)  # type: ignore[arg-type]
    if emptied:
        new_call = remove_items(new_call, [a for a in new_call.args if any(a.value is e.value for e in emptied)])
    if new_call is call:
        return None
    return "drop the batch-only beta", t.located.replace(call, new_call)


def _without_beta_header(headers: cst.Dict) -> Optional[cst.Dict]:
    """The headers without batch-only betas in `anthropic-beta` (the same node when there are
    none); None when no header is left."""
    for element in headers.elements:
        if not isinstance(element, cst.DictElement) or (string_value(element.key) or "").lower() != "anthropic-beta":
            continue
        value = string_value(element.value)
        if value is None or not isinstance(element.value, cst.SimpleString):
            continue
        betas = [b.strip() for b in value.split(",") if b.strip()]
        kept = [b for b in betas if b not in BATCH_ONLY_BETAS]
        if kept == betas:
            continue
        if kept:
            return headers.deep_replace(element.value, with_text(element.value, ",".join(kept)))  # type: ignore[return-value]
        return remove_items(headers, [element]) if len(headers.elements) > 1 else None
    return headers


# -- custom-id-invalid --------------------------------------------------------------------

_INVALID = re.compile(r"[^A-Za-z0-9_-]")


def _sanitise(text: str, keep_fields: bool = False) -> str:
    if not keep_fields:
        return _INVALID.sub("-", text)
    parts = re.split(r"(\{[^{}]*\})", text)
    return "".join(p if p.startswith("{") and p.endswith("}") else _INVALID.sub("-", p) for p in parts)


@fixer("custom-id-invalid")
def custom_id_chars(t: Target) -> Optional[Rewrite]:
    loc = t.located
    node = loc.at(t.finding.line, t.finding.col, (cst.SimpleString, cst.FormattedString, cst.BinaryOperation, cst.Call))
    if node is None:
        return None
    new = _sanitised(node)
    if new is None or new is node:
        return None
    return "replace the characters custom_id does not allow with `-`", loc.replace(node, new)


def _sanitised(node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The id expression with its literal parts sanitised; None when that cannot make it valid."""
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        if not value or "\\" in node.value:
            return None
        return with_text(node, _sanitise(value)[:CUSTOM_ID_MAX_LEN])
    if isinstance(node, cst.FormattedString):
        parts = [p.with_changes(value=_sanitise(p.value)) if isinstance(p, cst.FormattedStringText) else p
                 for p in node.parts]
        if sum(len(p.value) for p in parts if isinstance(p, cst.FormattedStringText)) > CUSTOM_ID_MAX_LEN:
            return None
        return node.with_changes(parts=tuple(parts))
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _sanitised(node.left) if isinstance(node.left, (cst.SimpleString, cst.BinaryOperation)) else node.left
        right = _sanitised(node.right) if isinstance(node.right, cst.SimpleString) else node.right
        if left is None or right is None:
            return None
        return node.with_changes(left=left, right=right)
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "format"
            and isinstance(node.func.value, cst.SimpleString)):
        template = node.func.value
        value = string_value(template)
        if value is None or "\\" in template.value:
            return None
        fixed = with_text(template, _sanitise(value, keep_fields=True))
        return node.with_changes(func=node.func.with_changes(value=fixed))
    return None


# -- batch-missing-custom-id --------------------------------------------------------------

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


@fixer("batch-missing-custom-id")
def add_custom_id(t: Target) -> Optional[Rewrite]:
    loc = t.located
    request = loc.at(t.finding.line, t.finding.col, cst.Dict)
    if request is None:
        return None
    loops: List[cst.CSTNode] = []
    for node in loc.ancestors(request):
        if isinstance(node, _SCOPES):
            break
        if isinstance(node, (cst.For, cst.While) + _COMPREHENSIONS):
            loops.append(node)
    if not loops:
        element = loc.parent(request)
        holder = loc.parent(element) if element is not None else None
        if not isinstance(holder, (cst.List, cst.Tuple)):
            return None
        position = next(i for i, e in enumerate(holder.elements) if e.value is request)
        value: cst.BaseExpression = cst.SimpleString(f'"request-{position}"')
        new = _with_custom_id(request, value)
        return f'add `"custom_id": "request-{position}"`', loc.replace(request, new)
    if len(loops) != 1 or isinstance(loops[0], cst.While):
        return None  # one index per item is unique only for a single loop
    loop = loops[0]
    comp_for = loop.for_in if isinstance(loop, _COMPREHENSIONS) else None
    if comp_for is not None and comp_for.inner_for_in is not None:
        return None
    header = comp_for or loop
    index, new_header = _indexed(header, loc)
    value = cst.parse_expression(f'f"request-{{{index}}}"')
    replaced = loop.deep_replace(request, _with_custom_id(request, value))
    if comp_for is not None:
        replaced = replaced.with_changes(for_in=new_header)
    else:
        replaced = replaced.with_changes(target=new_header.target, iter=new_header.iter)  # type: ignore[attr-defined]
    return f"add a custom_id from the loop index `{index}`", loc.replace(loop, replaced)


def _with_custom_id(request: cst.Dict, value: cst.BaseExpression) -> cst.Dict:
    element = cst.DictElement(cst.SimpleString('"custom_id"'), value,
                              comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return request.with_changes(elements=(element,) + tuple(request.elements))


def _indexed(header: cst.CSTNode, loc: Located) -> Tuple[str, cst.CSTNode]:
    """(index name, header iterating `enumerate(...)`): reuses an existing `enumerate` index."""
    target, iterable = header.target, header.iter  # type: ignore[attr-defined]
    if (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == "enumerate"
            and isinstance(target, cst.Tuple) and target.elements and isinstance(target.elements[0].value, cst.Name)):
        return target.elements[0].value.value, header
    index = loc.fresh_name("index")
    if isinstance(target, cst.Tuple) and not target.lpar:
        target = target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    new_target = cst.Tuple([cst.Element(cst.Name(index)), cst.Element(target)], lpar=[], rpar=[])
    new_iter = cst.Call(cst.Name("enumerate"), [cst.Arg(iterable)])
    return index, header.with_changes(target=new_target, iter=new_iter)


# -- policy rules: a template of keyword arguments ---------------------------------------------


def policy_template(t: Target) -> Optional[Rewrite]:
    """`[autofix] set = {...}, drop = [...]`: set or remove keyword arguments of the site's call."""
    call = _call_at(t)
    if call is None:
        return None
    fix = t.autofix
    new_call = remove_items(call, [a for a in call.args if a.keyword and a.keyword.value in fix.drop])
    args = list(new_call.args)
    done: List[str] = []
    for name, value in fix.set:
        current = next((a for a in args if a.keyword and a.keyword.value == name), None)
        if current is not None:
            args = [a.with_changes(value=literal_node(value)) if a is current else a for a in args]
        else:
            args.append(cst.Arg(literal_node(value), keyword=cst.Name(name),
                                equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
        done.append(f"{name}={value!r}")
    done += [f"drop {name}" for name in fix.drop if any(a.keyword and a.keyword.value == name for a in call.args)]
    if not done:
        return None
    return ", ".join(done), t.located.replace(call, call.with_changes(args=tuple(args)))
