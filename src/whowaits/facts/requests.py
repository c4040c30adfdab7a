"""Request shapes: the literal keyword arguments of a call and the requests of a batch submit.

A batch's `requests=` is followed through list literals, comprehensions, a local list filled
by `.append` / `.extend` / `+=` (in loops or not), slices, `list(...)`, and helpers of the same
module that build and return the list. Each request dict becomes a template; a template built
once per item of a loop or comprehension is `repeated`.
"""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple, Union

from whowaits.core import BatchInput, BatchRequestFacts, CollectionRef, CustomIdFact, RequestFacts
from whowaits.facts.positions import CodeFor
from whowaits.facts.scopes import last_name, ModuleIndex, Scope
from whowaits.facts.syntax import (
    arguments, child_nodes, concatenated, is_fstring, is_name, is_string, is_strings, name_of, subscript_elements,
)
from whowaits.facts.values import Evaluator, Ext, FuncV, Lit
from whowaits.knowledge.libraries import UNBOUNDED_FUNCTIONS, UNBOUNDED_METHODS
from whowaits.knowledge.sdk import ENDPOINT_KEYWORDS

Items = Dict[str, Tuple[ast.expr, Scope]]

# Constructors that build a request or params mapping from keyword arguments.
_MAPPING_CONSTRUCTORS = {
    "dict",
    "Request",
    "RequestParam",
    "MessageCreateParamsNonStreaming",
    "MessageCreateParams",
    "MessageCreateParamsBase",
}
# Calls whose result is as unique as their arguments (they add no uniqueness of their own).
_PURE_FUNCTIONS = {"str", "int", "repr", "format", "hex", "abs", "len"}
_MAX_DEPTH = 8
# Request keys that carry prompt text, across the providers' request shapes.
_PROMPT_KEYS = ("system", "messages", "prompt", "input", "instructions", "contents")
# Keys of a message or content block whose value is text the model reads.
_TEXT_KEYS = ("content", "text", "parts")
_MAX_UNKNOWN = 4


@dataclass
class _Template:
    node: ast.expr
    scope: Scope
    loops: Tuple[int, ...]
    count: Optional[int]



# Builtins whose result has as many items as their (first) argument: zip has the fewest.
_SAME_LENGTH = frozenset({"enumerate", "sorted", "reversed", "list", "tuple", "set", "zip"})


class RequestReader:
    """Reads request facts for one module; shares the module's evaluator and positions."""

    def __init__(self, index: ModuleIndex, evaluator: Evaluator, code_for: "CodeFor") -> None:
        self.index = index
        self._grown: Optional[Set[str]] = None
        self.ev = evaluator
        self.code_for = code_for
        self.loop_of_node = {id(info.node): loop_id for loop_id, info in index.loops.items()}

    # -- keyword requests ------------------------------------------------------------------

    def call_items(self, call: ast.Call, scope: Scope) -> Items:
        items: Items = {}
        for arg in arguments(call):
            if arg.keyword is not None:
                items[arg.keyword] = (arg.value, scope)
            elif arg.star == "**":
                splat = self.mapping_items(arg.value, scope, 0)
                if splat is not None:
                    items.update(splat[0])
        return items

    def request_facts(self, items: Items) -> RequestFacts:
        def lit(key: str) -> object:
            if key not in items:
                return None
            expr, scope = items[key]
            value = self.ev.eval(expr, scope)
            return value.value if isinstance(value, Lit) else None

        model, stream, max_tokens, purpose, speed = lit("model"), lit("stream"), lit("max_tokens"), lit("purpose"), lit("speed")
        tool_choice = lit("tool_choice")
        if tool_choice is None and "tool_choice" in items:
            choice = self.mapping_items(*items["tool_choice"], 0)
            if choice is not None and "type" in choice[0]:
                value = self.ev.eval(*choice[0]["type"])
                tool_choice = value.value if isinstance(value, Lit) else None
        tools = "tools" in items and not is_name(items["tools"][0], "None")
        model_ref = model_env = None
        if "model" in items and not isinstance(model, str):
            env = self.ev.env_default(*self._single_assignment(*items["model"]))
            if env is not None:
                model_env, model = env
            else:
                value = self.ev.eval(*items["model"])
                model_ref = value.path if isinstance(value, Ext) else None
        prompt_chars: Optional[int] = None
        unknown: List[str] = []
        for key in _PROMPT_KEYS:
            if key in items:
                prompt_chars = (prompt_chars or 0) + self.text_size(*items[key], 0, unknown)
        return RequestFacts(
            model=model if isinstance(model, str) else None,
            stream=stream if isinstance(stream, bool) else None,
            tools=tools,
            tool_choice=tool_choice if isinstance(tool_choice, str) else None,
            max_tokens=max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else None,
            speed=speed if isinstance(speed, str) else None,
            betas=self._betas(items),
            purpose=purpose if isinstance(purpose, str) else None,
            base_url=next((url for url in (self.url(*items[k]) for k in sorted(ENDPOINT_KEYWORDS) if k in items) if url), None),
            span_of=tuple((key, self.code_for.span(expr)) for key, (expr, _) in items.items()
                          if key in RequestFacts.SPANNED_KEYS),
            model_ref=model_ref,
            model_env=model_env,
            prompt_chars=prompt_chars,
            prompt_unknown=tuple(unknown[:_MAX_UNKNOWN]),
        )

    def text_size(self, expr: ast.expr, scope: Scope, depth: int, unknown: List[str]) -> int:
        """Characters of literal prompt text in an expression (strings, f-string text, message
        lists and dicts, names bound once); the source of every part it cannot size goes to
        `unknown`, so a cost estimate can say what it leaves out."""

        def missing(node: ast.expr) -> int:
            text = " ".join(self.code_for(node).split())
            text = text if len(text) <= 40 else text[:37] + "..."
            if text not in unknown:
                unknown.append(text)
            return 0

        if depth > _MAX_DEPTH:
            return missing(expr)
        if is_strings(expr) and isinstance(expr.value, (str, bytes)):
            return len(expr.value)
        if isinstance(expr, ast.JoinedStr) and concatenated(expr):  # `"a" f"{b}"`: no value of its own
            return missing(expr)
        if is_fstring(expr):
            size = 0
            for part in self.ev.fstring_parts(expr) or ():
                if isinstance(part, str):
                    size += len(part)
                else:
                    size += self.text_size(part, scope, depth + 1, unknown)
            return size
        if isinstance(expr, (ast.List, ast.Tuple)):
            return sum(self.text_size(el.value if isinstance(el, ast.Starred) else el, scope, depth + 1, unknown)
                       for el in expr.elts)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.text_size(expr.left, scope, depth + 1, unknown) + self.text_size(expr.right, scope, depth + 1, unknown)
        template = _format_template(expr)
        if isinstance(expr, (ast.Dict, ast.Call)) and template is None:
            found = self.mapping_items(expr, scope, depth + 1)
            if found is None:
                return missing(expr)
            items, _ = found
            return sum(self.text_size(*items[key], depth + 1, unknown) for key in _TEXT_KEYS if key in items)
        if isinstance(expr, ast.Call) and template is not None:  # "...".format(...)
            size = sum(len(lit) for lit, _, _, _ in string.Formatter().parse(template))
            return size + sum(self.text_size(arg.value, scope, depth + 1, unknown) for arg in arguments(expr))
        if isinstance(expr, ast.Name):
            value = self.ev.eval(expr, scope)
            if isinstance(value, Lit) and isinstance(value.value, str):
                return len(value.value)
            resolved, resolved_scope = self._single_assignment(expr, scope)
            if resolved is not expr:
                return self.text_size(resolved, resolved_scope, depth + 1, unknown)
        return missing(expr)

    def url(self, expr: ast.expr, scope: Scope) -> Optional[str]:
        """A URL whose scheme and host are literal (the path may be computed), else None."""
        from whowaits.facts.calls import literal_url

        return literal_url(expr, self.ev, scope)

    def _betas(self, items: Items) -> Tuple[str, ...]:
        betas: List[str] = []
        if "betas" in items:
            expr, scope = items["betas"]
            if isinstance(expr, (ast.List, ast.Tuple)):
                for el in expr.elts:
                    value = self.ev.eval(el.value if isinstance(el, ast.Starred) else el, scope)
                    if isinstance(value, Lit) and isinstance(value.value, str):
                        betas.append(value.value)
        if "extra_headers" in items:
            headers = self.mapping_items(*items["extra_headers"], 0)
            if headers is not None and "anthropic-beta" in headers[0]:
                value = self.ev.eval(*headers[0]["anthropic-beta"])
                if isinstance(value, Lit) and isinstance(value.value, str):
                    betas.extend(b.strip() for b in value.value.split(",") if b.strip())
        return tuple(betas)

    # -- mappings --------------------------------------------------------------------------

    def mapping_items(
        self, expr: ast.expr, scope: Scope, depth: int
    ) -> Optional[Tuple[Items, bool]]:
        """The literal keys of a dict-like expression and whether every key is visible."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, ast.Dict):
            items: Items = {}
            complete = True
            for el_key, el_value in zip(expr.keys, expr.values):
                if el_key is not None:
                    key = self.ev.eval(el_key, scope)
                    if isinstance(key, Lit) and isinstance(key.value, str):
                        items[key.value] = (el_value, scope)
                    else:
                        complete = False
                else:
                    inner = self.mapping_items(el_value, scope, depth + 1)
                    if inner is None:
                        complete = False
                    else:
                        items.update(inner[0])
                        complete = complete and inner[1]
            return items, complete
        if isinstance(expr, ast.Call):
            func = expr.func
            name = last_name(func)
            args = arguments(expr)
            if name in _MAPPING_CONSTRUCTORS and not (name == "dict" and args and args[0].keyword is None and args[0].star != "**"):
                complete = all(arg.keyword is not None for arg in args)
                return self.call_items(expr, scope), complete
            target = self.ev.eval(func, scope)
            if isinstance(target, FuncV):
                for ret in target.func.returns:
                    found = self.mapping_items(ret, target.func.scope, depth + 1)
                    if found is not None:
                        return found
            return None
        if isinstance(expr, ast.Name):
            bindings = self.ev.lookup(expr.id, scope) or []
            assigns = [b for b in bindings if b.kind == "assign" and b.node is not None]
            if len(assigns) == 1 and (assigned := assigns[0].node) is not None:
                return self.mapping_items(assigned, assigns[0].scope, depth + 1)
        return None

    # -- batch submits ---------------------------------------------------------------------

    def batch_input(self, call: ast.Call, scope: Scope, call_loops: Tuple[int, ...]) -> Optional[BatchInput]:
        expr: Optional[ast.expr] = None
        for arg in call.keywords:
            if arg.arg == "requests":
                expr = arg.value
        if expr is None:
            return None
        state = _Collect()
        templates = self._templates(expr, scope, (), 0, state)
        requests = tuple(self._request(t) for t in templates) if templates is not None else ()
        counts = [t.count for t in templates] if templates else []
        known = [c for c in counts if c is not None]
        total = sum(known) if counts and len(known) == len(counts) else None
        collection: Optional[CollectionRef] = None
        if isinstance(expr, ast.Name):
            # A name bound nowhere in this module (a star import, a builtin) is still one
            # collection within the module.
            owner = self._binding_scope(expr.id, scope)
            collection = CollectionRef(owner.qualname if owner else "<unbound>", expr.id)
        return BatchInput(
            source=state.source if templates else "unknown",
            requests=requests,
            count=total,
            unbounded=state.unbounded,
            chunked=state.chunked or bool(call_loops),
            collection=collection,
        )

    def _binding_scope(self, name: str, scope: Scope) -> Optional[Scope]:
        current: Optional[Scope] = scope
        while current is not None:
            if name in current.bindings:
                return current
            current = current.parent
        return None

    def _templates(
        self,
        expr: ast.expr,
        scope: Scope,
        loops: Tuple[int, ...],
        depth: int,
        state: "_Collect",
        count: Optional[int] = 1,
    ) -> Optional[List[_Template]]:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, (ast.List, ast.Tuple)):
            state.note("literal")
            out: List[_Template] = []
            for el in expr.elts:
                if isinstance(el, ast.Starred):
                    inner = self._templates(el.value, scope, loops, depth + 1, state, count)
                    if inner is None:
                        return None
                    out.extend(inner)
                else:
                    out.append(_Template(el, scope, loops, count))
            return out
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
            state.note("comprehension")
            loop_id = self.loop_of_node.get(id(expr))
            inner_count = count
            for clause in expr.generators:
                inner_count = _times(inner_count, self.iteration_count(clause.iter, scope))
                state.check_unbounded(self, clause.iter, scope)
                if clause.ifs:
                    inner_count = None
            ids = loops + ((loop_id,) if loop_id is not None else ())
            return [_Template(expr.elt, scope, ids, inner_count)]
        if isinstance(expr, ast.Subscript):
            state.chunked = True
            return self._templates(expr.value, scope, loops, depth + 1, state, None)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self._templates(expr.left, scope, loops, depth + 1, state, count)
            right = self._templates(expr.right, scope, loops, depth + 1, state, count)
            return None if left is None or right is None else left + right
        if isinstance(expr, ast.Call):
            func = expr.func
            args = arguments(expr)
            if isinstance(func, ast.Name) and func.id in ("list", "tuple", "sorted") and args:
                if self.ev.lookup(func.id, scope) is None:
                    return self._templates(args[0].value, scope, loops, depth + 1, state, count)
            target = self.ev.eval(func, scope)
            if isinstance(target, FuncV):
                state.note("helper")
                out = []
                for ret in target.func.returns:
                    inner = self._templates(ret, target.func.scope, (), depth + 1, state, count)
                    if inner is None:
                        return None
                    out.extend(inner)
                return out or None
            return None
        if isinstance(expr, ast.Name):
            return self._name_templates(expr.id, scope, depth, state, count)
        return None

    def _name_templates(
        self, name: str, scope: Scope, depth: int, state: "_Collect", count: Optional[int]
    ) -> Optional[List[_Template]]:
        owner = self._binding_scope(name, scope)
        if owner is None:
            return None
        out: List[_Template] = []
        for binding in owner.bindings[name]:
            if binding.kind == "param":
                return None
            if binding.kind != "assign" or not isinstance(binding.node, ast.expr):
                continue
            inner = self._templates(binding.node, binding.scope, (), depth + 1, state, count)
            if inner is None:
                return None
            out.extend(inner)
        for value, loops, is_extend in owner.appends.get(name, []):
            state.note("loop" if loops else "literal")
            loop_count = count
            for loop_id in loops:
                info = self.index.loops[loop_id]
                if isinstance(info.node, (ast.For, ast.AsyncFor)):
                    loop_count = _times(loop_count, self.iteration_count(info.node.iter, owner))
                    state.check_unbounded(self, info.node.iter, owner)
                else:
                    loop_count = None
            if is_extend:
                inner = self._templates(value, owner, loops, depth + 1, state, loop_count)
                if inner is None:
                    return None
                out.extend(inner)
            else:
                out.append(_Template(value, owner, loops, loop_count))
        return out

    def iteration_count(self, iterable: ast.expr, scope: Scope, depth: int = 0) -> Optional[int]:
        """Literal iteration counts (an upper bound): `range(N)`, `range(a, b)`, literal lists,
        tuples and dicts, `xs[:N]`, names bound only to one of those and never grown
        (`TONES = ["a", "b", "c"]`), and what wraps or rebuilds one: `.items()`, `enumerate`,
        `sorted`, `zip`, a comprehension over one."""
        if depth > 6:
            return None
        if isinstance(iterable, ast.Name):
            return self._name_count(iterable.id, scope, depth)
        if isinstance(iterable, ast.Dict):
            if all(key is not None for key in iterable.keys):
                return len(iterable.keys)
            return None
        if isinstance(iterable, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            clauses = iterable.generators
            if len(clauses) == 1 and not clauses[0].ifs:
                return self.iteration_count(clauses[0].iter, scope, depth + 1)
            return None
        if isinstance(iterable, ast.Call) and not any(a.star for a in arguments(iterable)):
            func = iterable.func
            args = arguments(iterable)
            if isinstance(func, ast.Attribute) and func.attr in ("items", "values", "keys") and not args:
                return self.iteration_count(func.value, scope, depth + 1)
            if (isinstance(func, ast.Name) and func.id in _SAME_LENGTH and args
                    and self.ev.lookup(func.id, scope) is None):
                counts = [self.iteration_count(a.value, scope, depth + 1) for a in args if a.keyword is None]
                known = [c for c in counts if c is not None]
                if func.id == "zip" and known:
                    return min(known)
                return counts[0] if counts else None
        if isinstance(iterable, ast.Subscript) and len(subscript_elements(iterable)) == 1:
            index = iterable.slice
            if isinstance(index, ast.Slice) and index.lower is None and index.upper is not None and index.step is None:
                upper = self.ev.eval(index.upper, scope)
                if isinstance(upper, Lit) and isinstance(upper.value, int) and upper.value >= 0:
                    return upper.value
            return None
        if isinstance(iterable, (ast.List, ast.Tuple)):
            if all(not isinstance(el, ast.Starred) for el in iterable.elts):
                return len(iterable.elts)
            return None
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "range"
            and self.ev.lookup("range", scope) is None
            and 1 <= len(arguments(iterable)) <= 2
        ):
            values = [self.ev.eval(arg.value, scope) for arg in arguments(iterable)]
            ints = [v.value for v in values if isinstance(v, Lit) and isinstance(v.value, int) and not isinstance(v.value, bool)]
            if len(ints) == len(values):
                return max(0, ints[-1] - (ints[0] if len(ints) == 2 else 0))
        return None

    def _grown_names(self) -> Set[str]:
        """Names appended to, extended or augmented anywhere in the module (any scope)."""
        if self._grown is None:
            scopes = [self.index.module_scope] + [f.scope for f in self.index.functions] + [c.scope for c in self.index.classes]
            self._grown = {name for sc in scopes for name in sc.appends}
        return self._grown

    def _name_count(self, name: str, scope: Scope, depth: int) -> Optional[int]:
        """A name bound only to countable collections, never appended to, extended or augmented."""
        bindings = self.ev.lookup(name, scope)
        if not bindings or name in self._grown_names():
            return None
        counts = []
        for binding in bindings:
            if binding.kind != "assign" or binding.node is None:
                return None
            count = self.iteration_count(binding.node, binding.scope, depth + 1)
            if count is None:
                return None
            counts.append(count)
        return max(counts)

    def _request(self, template: _Template) -> BatchRequestFacts:
        repeated = bool(template.loops)
        span = self.code_for.span(template.node)
        found = self.mapping_items(template.node, template.scope, 0)
        if found is None:
            return BatchRequestFacts(span, None, None, None, repeated, template.count)
        items, complete = found
        custom_id = None
        if "custom_id" in items:
            custom_id = self.custom_id(*items["custom_id"], template.loops)
        params = None
        if "params" in items:
            params_items = self.mapping_items(*items["params"], 0)
            if params_items is not None:
                params = self.request_facts(params_items[0])
        elif "body" in items:  # OpenAI batch line
            body = self.mapping_items(*items["body"], 0)
            if body is not None:
                params = self.request_facts(body[0])
        has_id: Optional[bool] = True if "custom_id" in items else (False if complete else None)
        return BatchRequestFacts(span, custom_id, has_id, params, repeated, template.count)

    # -- custom ids ------------------------------------------------------------------------

    def custom_id(
        self, expr: ast.expr, scope: Scope, loops: Tuple[int, ...]
    ) -> CustomIdFact:
        source = self.code_for(expr)
        span = self.code_for.span(expr)
        resolved, resolved_scope = self._single_assignment(expr, scope)
        value = self.ev.eval(resolved, resolved_scope)
        varies = self._varies(expr, scope, set(loops), set()) if loops else None
        if isinstance(value, Lit) and isinstance(value.value, str):
            return CustomIdFact("literal", source, span, value.value, (value.value,), varies)
        parts = self._literal_parts(resolved, resolved_scope)
        if parts is not None:
            return CustomIdFact("fstring", source, span, None, tuple(parts), varies)
        return CustomIdFact("expr", source, span, None, (), varies)

    def _single_assignment(self, expr: ast.expr, scope: Scope) -> Tuple[ast.expr, Scope]:
        for _ in range(_MAX_DEPTH):
            if not isinstance(expr, ast.Name):
                break
            bindings = self.ev.lookup(expr.id, scope) or []
            if len(bindings) != 1 or bindings[0].kind != "assign" or bindings[0].node is None:
                break
            expr, scope = bindings[0].node, bindings[0].scope
        return expr, scope

    def _literal_parts(self, expr: ast.expr, scope: Scope) -> Optional[List[str]]:
        if is_fstring(expr):
            return [p for p in self.ev.fstring_parts(expr) or () if isinstance(p, str)]
        if isinstance(expr, (ast.Constant, ast.JoinedStr)) and concatenated(expr):
            return self.code_for.literal_pieces(expr)
        if is_string(expr):
            text = expr.value
            return [text] if isinstance(text, str) else []
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            left = self._literal_parts(expr.left, scope)
            right = self._literal_parts(expr.right, scope)
            if left is None and right is None:
                return None
            return (left or []) + (right or [])
        if (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "format"
            and is_string(expr.func.value)
        ):
            text = expr.func.value.value
            if isinstance(text, str):
                return [lit for lit, _, _, _ in string.Formatter().parse(text) if lit]
        if isinstance(expr, ast.Name):
            value = self.ev.eval(expr, scope)
            if isinstance(value, Lit) and isinstance(value.value, str):
                return [value.value]
        return None

    def _varies(self, expr: ast.AST, scope: Scope, loops: Set[int], seen: Set[str]) -> Optional[bool]:
        """Does the expression change from one item of `loops` to the next?

        True when it reads a loop variable or a name (re)bound inside those loops; False when it
        is built only from names bound outside them and pure operations; None when a call could
        make it unique on its own (`uuid4()`, `next(counter)`).
        """
        names, opaque = _names_and_calls(expr)
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            bindings = self.ev.lookup(name, scope) or []
            if any(loops & set(b.loops) for b in bindings):
                return True
            loop_scopes = {id(self.index.loops[item].scope) for item in loops}
            if any(b.kind == "param" and id(b.scope) not in loop_scopes for b in bindings):
                return None  # a helper's parameter is whatever each per-item call passes
            single = [b for b in bindings if b.kind == "assign" and b.node is not None]
            if len(single) == 1 and len(bindings) == 1 and (assigned := single[0].node) is not None:
                inner = self._varies(assigned, single[0].scope, loops, seen)
                if inner is not False:
                    return inner
        return None if opaque else False


class _Collect:
    """What the template walk learns along the way."""

    def __init__(self) -> None:
        self.source = ""
        self.unbounded: Optional[str] = None
        self.chunked = False

    def note(self, source: str) -> None:
        order = ["", "literal", "comprehension", "loop", "helper"]
        if order.index(source) > order.index(self.source):
            self.source = source

    def check_unbounded(self, reader: RequestReader, iterable: ast.expr, scope: Scope) -> None:
        if self.unbounded is None and _is_unbounded(reader, iterable, scope, 0):
            self.unbounded = reader.code_for(iterable)


def _is_unbounded(reader: RequestReader, expr: ast.expr, scope: Scope, depth: int) -> bool:
    if depth > 3:
        return False
    if isinstance(expr, ast.Subscript):
        return False
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Name) and func.id in ("enumerate", "zip", "list", "sorted", "reversed"):
            return any(_is_unbounded(reader, a.value, scope, depth + 1) for a in arguments(expr))
        target = reader.ev.eval(func, scope)
        if isinstance(target, Ext) and target.path in UNBOUNDED_FUNCTIONS:
            return True
        if isinstance(func, ast.Name) and func.id == "open" and reader.ev.lookup("open", scope) is None:
            return True
        if isinstance(func, ast.Attribute) and func.attr in UNBOUNDED_METHODS:
            return True
        return False
    if isinstance(expr, ast.Name):
        bindings = reader.ev.lookup(expr.id, scope) or []
        if len(bindings) == 1 and bindings[0].kind in ("assign", "with") and bindings[0].node is not None:
            return _is_unbounded(reader, bindings[0].node, bindings[0].scope, depth + 1)
    return False


def _format_template(expr: ast.expr) -> Optional[str]:
    """The template of `"template {x}".format(...)` with a plain string template, else None."""
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format"
            and is_string(expr.func.value)):
        template = expr.func.value.value
        return template if isinstance(template, str) else None
    return None


def _times(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return None if a is None or b is None else a * b


def _names_and_calls(expr: ast.AST) -> Tuple[List[str], bool]:
    """Names an expression reads (not attribute names; keyword and parameter names count), in
    source order, and whether it makes an opaque call."""
    names: List[str] = []
    opaque = False
    stack: List[Union[ast.AST, str]] = [expr]  # a `str` is a keyword's name, read in its place
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            names.append(node)
            continue
        if isinstance(node, ast.Attribute):
            stack.append(node.value)
            continue
        if is_name(node):
            names.append(name_of(node))
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif isinstance(node, ast.Call):
            func = node.func
            pure = (isinstance(func, ast.Name) and func.id in _PURE_FUNCTIONS) or (
                isinstance(func, ast.Attribute) and func.attr in ("format", "join", "lower", "upper", "strip", "replace", "zfill"))
            opaque = opaque or not pure
            children: List[Union[ast.AST, str]] = [func]
            for arg in arguments(node):
                children.append(arg.value)
                if arg.keyword is not None:
                    children.append(arg.keyword)
            stack.extend(reversed(children))
            continue
        stack.extend(reversed(child_nodes(node)))
    return names, opaque
