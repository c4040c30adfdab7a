"""`whowaits migrate`: turn a per-item synchronous loop nobody waits on into a batch job.

The unit of work is what runs once per item: the loop's body when the SDK call is in it, or
the helper the loop calls. It is split at the call: the statements before it and the call's
keyword arguments become a function that builds one request from one item; the whole unit,
with the call replaced by the answer, runs afterwards for each `(item, answer)` pair a batch
runner (written into the module, see runners.py) hands back in the items' order. So the code
after the call sees the same values, in the same order, and does the same per-item work.

Shapes rewritten: a `for` loop or comprehension with the call in it; a loop, comprehension,
`executor.map` or `asyncio.gather` fan-out over a helper (same module or imported) whose body
makes the call. Anything whose meaning would change is refused with the reason: streaming,
tools, a call under a condition, a loop that can `break`, a request built from an earlier
item's answer, statements with side effects before the call, more than one function between
the loop and the call. A migration is kept only if whowaits reports nothing new on the
rewritten project.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from whowaits.core import CallSite, ContextFact, OperationKind
from whowaits.fixes.cst_edit import Located, parse
from whowaits.knowledge.providers import batch_api
from whowaits.migrate.runners import RUNNERS, runner_source
from whowaits.pipeline import RunResult

MIGRATABLE = ("WW201", "WW202")
SUPPORTED = {("anthropic", "messages.create"), ("anthropic", "beta.messages.create"), ("openai", "chat.completions.create")}
_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp)
_MUTATORS = {"append", "extend", "insert", "update", "add", "pop", "remove", "clear", "setdefault", "discard"}

Reanalyze = Callable[[Dict[str, bytes]], RunResult]


class Refused(Exception):
    """The shape is not safely rewritable; the message says why."""


@dataclass
class Migration:
    """A migration of one site: new texts per file, or the reason it was refused."""

    site: CallSite
    texts: Dict[str, str] = field(default_factory=dict)  # relpath -> migrated text
    refused: str = ""
    summary: str = ""


class Sources:
    """Parsed project files, edited in place by successive migrations of one run. Each changed
    file keeps a map from its original line numbers (what the analysis reported) to its current
    ones, so a later migration finds its call where earlier ones moved it."""

    def __init__(self, read: Callable[[str], Optional[bytes]], poll_seconds: float,
                 site_lines: Optional[Dict[str, Set[int]]] = None) -> None:
        self._read = read
        self.poll_seconds = poll_seconds  # the runners' default interval between status checks
        self.site_lines = site_lines or {}  # path -> original lines of every LLM call site
        self.original: Dict[str, str] = {}
        self.current: Dict[str, str] = {}
        self.lines: Dict[str, Dict[int, int]] = {}  # path -> original line -> current line

    def located(self, path: str) -> Located:
        if path not in self.current:
            data = self._read(path)
            module = parse(data) if data is not None else None
            if module is None:
                raise Refused(f"{path} cannot be read or parsed")
            self.original[path] = self.current[path] = module.code
        module = parse(self.current[path].encode("utf-8"))
        assert module is not None
        return Located(module)

    def line(self, path: str, original: int) -> int:
        """Where an original line is now; refuses when an earlier migration rewrote it."""
        mapping = self.lines.get(path)
        if mapping is None:
            return original
        if original not in mapping:
            raise Refused("an earlier migration in this run rewrote this code; run migrate again for this site")
        return mapping[original]

    def update(self, path: str, text: str) -> None:
        old = self.current[path]
        if old == text:
            return
        matcher = difflib.SequenceMatcher(None, old.splitlines(), text.splitlines(), autojunk=False)
        step = {a + n + 1: b + n + 1 for a, b, size in matcher.get_matching_blocks() for n in range(size)}
        before = self.lines.get(path) or {n: n for n in range(1, len(self.original[path].splitlines()) + 1)}
        self.lines[path] = {o: step[c] for o, c in before.items() if c in step}
        self.current[path] = text

    def other_sites(self, path: str, line: int) -> Set[int]:
        """Current lines of the file's other LLM call sites (those not moved away)."""
        out = set()
        for original in self.site_lines.get(path, set()):
            mapping = self.lines.get(path)
            current = original if mapping is None else mapping.get(original)
            if current is not None and current != line:
                out.add(current)
        return out

    def snapshot(self) -> Tuple[Dict[str, str], Dict[str, Dict[int, int]]]:
        return dict(self.current), {p: dict(m) for p, m in self.lines.items()}

    def restore(self, saved: Tuple[Dict[str, str], Dict[str, Dict[int, int]]]) -> None:
        self.current, self.lines = dict(saved[0]), dict(saved[1])


# -- finding the loop and the unit --------------------------------------------------------------


def _context(site: CallSite) -> ContextFact:
    ctx = next((c for c in site.contexts if c.per_item and not c.from_test), None)
    ctx = ctx or next((c for c in site.contexts if c.per_item), None)
    if ctx is None:
        raise Refused("no per-item loop reaches this call")
    return ctx


def _hop(ctx: ContextFact) -> Optional[Tuple[str, int, str]]:
    """(path, line, helper qualname) of the call the loop makes per item, when it is not the site."""
    for n, step in enumerate(ctx.evidence):
        match = re.match(r"calls (\S+) \((?:per item|fanned out)", step.note)
        if match:
            if n != len(ctx.evidence) - 2:
                raise Refused("more than one function lies between the loop and the call; "
                              "migrate the helper nearest the loop by hand or move the loop next to the call")
            return step.path, step.line, match.group(1)
    return None


def _statement_index(loc: Located, body: Sequence[cst.BaseStatement], node: cst.CSTNode) -> int:
    """Index of the top-level statement of `body` holding `node`; refuses conditional positions."""
    chain = [node] + list(loc.ancestors(node))
    for index, statement in enumerate(body):
        if statement in chain:
            between = chain[: chain.index(statement) + 1]
            if any(isinstance(n, (cst.BaseCompoundStatement, cst.Lambda, cst.BooleanOperation, cst.IfExp) + _COMPREHENSIONS)
                   for n in between):
                raise Refused("the call runs only under a condition or in a nested block, "
                              "so a batch would send requests the loop never made")
            return index
    raise Refused("internal: the call is not in the loop body")


def _names(node: cst.CSTNode) -> Set[str]:
    found: Set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(Visitor())
    return found


def _written(statements: Sequence[cst.CSTNode]) -> Set[str]:
    """Names the statements assign or mutate (`x = ...`, `x += ...`, `x.append(...)`, `x[k] = ...`)."""
    found: Set[str] = set()

    def base(target: cst.BaseExpression) -> None:
        while isinstance(target, (cst.Attribute, cst.Subscript)):
            target = target.value
        if isinstance(target, cst.Name):
            found.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                base(element.value)

    class Visitor(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            base(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            base(n.target)

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            base(n.target)

        def visit_Call(self, n: cst.Call) -> None:
            if isinstance(n.func, cst.Attribute) and n.func.attr.value in _MUTATORS:
                base(n.func.value)

    for statement in statements:
        statement.visit(Visitor())
    return found


def _stops_early(body: cst.CSTNode) -> bool:
    """A `break` of this loop (not of a loop nested in it) or a `return` out of it."""
    found: List[cst.CSTNode] = []

    class Visitor(cst.CSTVisitor):
        def visit_Break(self, n: cst.Break) -> None:
            found.append(n)

        def visit_Return(self, n: cst.Return) -> None:
            found.append(n)

        def visit_For(self, n: cst.For) -> bool:  # its breaks are its own; a return still leaves
            return not any(isinstance(x, cst.Return) for x in _walk(n))

        def visit_While(self, n: cst.While) -> bool:
            return not any(isinstance(x, cst.Return) for x in _walk(n))

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return False

    body.visit(Visitor())
    return bool(found)


def _pure_prefix(prefix: Sequence[cst.BaseStatement]) -> None:
    for statement in prefix:
        ok = isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Assign, cst.AnnAssign)) for s in statement.body)
        if not ok or _mutates(statement):
            raise Refused("a statement before the call does more than compute a value (it would run again "
                          "when the request is built); move it after the call or out of the loop")


def _mutates(statement: cst.CSTNode) -> bool:
    """An assignment into an attribute or item, or a mutating method call: a side effect."""
    found: List[cst.CSTNode] = []

    class Visitor(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            if isinstance(n.target, (cst.Attribute, cst.Subscript)):
                found.append(n)

        def visit_Call(self, n: cst.Call) -> None:
            if isinstance(n.func, cst.Attribute) and n.func.attr.value in _MUTATORS:
                found.append(n)

    statement.visit(Visitor())
    return bool(found)


@dataclass
class Unit:
    """What runs once per item, split at the SDK call."""

    call: cst.Call
    answered: cst.BaseExpression  # the node the answer replaces (the call, or `await call`)
    receiver: cst.BaseExpression
    prefix: Tuple[cst.BaseStatement, ...]
    is_async: bool


def _unit(loc: Located, site: CallSite, body: Sequence[cst.BaseStatement], line: int, others: Set[int]) -> Unit:
    """The call at (line, site.col) and the part of `body` before it; `others` are the lines of
    other LLM calls in the file, which must not run when a request is built."""
    call = loc.at(line, site.col, cst.Call)
    if call is None:
        raise Refused("the call is not where the analysis put it (file changed?)")
    method = site.op.method
    if site.op.kind == OperationKind.STREAM or site.call.request.stream or any(a.keyword and a.keyword.value == "stream" for a in call.args):
        raise Refused("the call streams: someone reads tokens as they arrive, which a batch cannot give")
    if (site.op.provider, method) not in SUPPORTED or not site.op.batch_supported or site.op.client == "HTTP API":
        raise Refused(f"`{method}` on {site.op.client} has no batch equivalent migrate writes "
                      "(Anthropic Messages and OpenAI chat completions through their SDK clients)")
    if site.call.request.tools or any(a.keyword and a.keyword.value in ("tools", "tool_choice") for a in call.args):
        raise Refused("the call offers tools: a tool-use turn needs each answer before the next request")
    if any(a.keyword is None and a.star != "**" for a in call.args):
        raise Refused("the call has positional arguments; the request params must be keywords")
    receiver: cst.BaseExpression = call.func
    for part in reversed(method.split(".")):
        if not isinstance(receiver, cst.Attribute) or receiver.attr.value != part:
            raise Refused(f"the receiver of `{method}` is not a plain client expression")
        receiver = receiver.value
    parent = loc.parents.get(call)
    answered: cst.BaseExpression = parent if isinstance(parent, cst.Await) else call
    is_async = isinstance(parent, cst.Await)
    if not is_async and (site.call.is_async and site.op.client.startswith("Async")):
        raise Refused("the call's coroutine is awaited elsewhere (gathered or scheduled as a task); "
                      "await it in a helper and gather that helper")
    if (site.op.provider, is_async) not in RUNNERS:
        raise Refused("async OpenAI clients are not migrated yet; use the synchronous client in the batch job")
    index = _statement_index(loc, body, call) if body else 0
    prefix = tuple(body[:index])
    _pure_prefix(prefix)
    for statement in prefix:
        where = loc.positions[statement]
        if any(where.start.line <= other <= where.end.line for other in others):
            raise Refused("another LLM call runs before this one for each item; migrate the first call, or both by hand")
    return Unit(call, answered, receiver, prefix, is_async)


def _check_independent(unit: Unit, body: Sequence[cst.BaseStatement], extra_written: Sequence[str] = ()) -> None:
    """Refuse when a request reads a name that the work after an earlier item's call changes."""
    written = _written(list(body[len(unit.prefix):])) | set(extra_written)
    reads = _names(unit.call.with_changes(func=cst.Name("create")))  # the arguments, not the client
    for statement in unit.prefix:
        reads |= _names(statement)
    shared = sorted((written & reads) - _written(list(unit.prefix)))
    if shared:
        raise Refused(f"the request reads `{shared[0]}`, which the loop changes after each answer: "
                      "an item's request depends on an earlier item's answer")


# -- building the new code ----------------------------------------------------------------------


def _param(name: str) -> cst.Param:
    return cst.Param(cst.Name(name))


def _builder(name: str, target: cst.BaseAssignTargetExpression, prefix: Sequence[cst.BaseStatement],
             call: cst.Call, loc: Located) -> Tuple[Optional[cst.FunctionDef], cst.BaseExpression]:
    """The request builder: a lambda when there is nothing before the call, else a nested def
    (returned to be placed before the loop) and its name."""
    params = _params(call)
    if not prefix and isinstance(target, cst.Name):
        return None, cst.Lambda(cst.Parameters([_param(target.value)]), params)
    item = target.value if isinstance(target, cst.Name) else loc.fresh_name("item")
    body: List[cst.BaseStatement] = []
    if not isinstance(target, cst.Name):
        body.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], cst.Name(item))]))
    body += [s.with_changes(leading_lines=()) for s in prefix]
    body.append(cst.SimpleStatementLine([cst.Return(params)]))
    return cst.FunctionDef(cst.Name(name), cst.Parameters([_param(item)]), cst.IndentedBlock(body)), cst.Name(name)


def _params(call: cst.Call) -> cst.Call:
    """`dict(...)` of the call's keyword arguments, laid out as they were (without the comment
    after the call's opening parenthesis, which was about the call)."""
    space = call.whitespace_before_args
    if isinstance(space, cst.ParenthesizedWhitespace):
        space = space.with_changes(first_line=cst.TrailingWhitespace())
    return cst.Call(cst.Name("dict"), args=call.args, whitespace_before_args=space)


def _pair_target(target: cst.BaseAssignTargetExpression, answer: str) -> cst.Tuple:
    if isinstance(target, cst.Tuple) and not target.lpar:
        target = target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Tuple([cst.Element(target), cst.Element(cst.Name(answer))], lpar=[], rpar=[])


def _runner_call(runner: str, unit: Unit, items: cst.BaseExpression, build: cst.BaseExpression,
                 deadline: float) -> cst.BaseExpression:
    """`runner(client, items, build)`, with the context's deadline when one is known."""
    args = [cst.Arg(unit.receiver), cst.Arg(items), cst.Arg(build)]
    if deadline:
        args.append(cst.Arg(cst.Integer(str(int(deadline))), keyword=cst.Name("deadline_seconds"),
                            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
    call = cst.Call(cst.Name(runner), args)
    return cst.Await(call) if unit.is_async else call


def _insert_before(loc: Located, anchor: cst.CSTNode, new: Sequence[cst.BaseStatement],
                   replacement: cst.CSTNode) -> cst.Module:
    """Replace statement `anchor` by `replacement`, with `new` statements before it, in its block."""
    block = loc.parents.get(anchor)
    if not isinstance(block, (cst.IndentedBlock, cst.Module)):
        raise Refused("the loop is not a statement of a block")
    body: List[cst.BaseStatement] = []
    for statement in block.body:
        if statement is anchor:
            if new:
                first = new[0].with_changes(leading_lines=getattr(anchor, "leading_lines", ()))
                body += [first, *new[1:]]
                blank = [cst.EmptyLine(indent=False)] if isinstance(new[-1], cst.FunctionDef) else []
                replacement = replacement.with_changes(leading_lines=blank)
            body.append(replacement)  # type: ignore[arg-type]
        else:
            body.append(statement)
    return loc.replace(block, block.with_changes(body=tuple(body)))


def _with_runner(module: cst.Module, provider: str, is_async: bool, poll_seconds: float) -> Tuple[cst.Module, str]:
    """The module with the runner defined once, after its imports."""
    name, source = runner_source(provider, is_async, poll_seconds)
    if any(isinstance(s, cst.FunctionDef) and s.name.value == name for s in module.body):
        return module, name
    position = 0
    for index, statement in enumerate(module.body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
                isinstance(s, (cst.Import, cst.ImportFrom)) or (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
                for s in statement.body):
            position = index + 1
        elif index > position:
            break
    definition = cst.parse_statement(source).with_changes(
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body = list(module.body)
    following = body[position].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]) if position < len(body) else None
    if following is not None:
        body[position] = following
    body.insert(position, definition)
    return module.with_changes(body=body), name


# -- the shapes ---------------------------------------------------------------------------------


def _direct(sources: Sources, site: CallSite, ctx: ContextFact) -> Tuple[str, cst.Module, str]:
    """The call sits in the loop's body or a comprehension's element."""
    loc = sources.located(site.path)
    line = sources.line(site.path, site.line)
    others = sources.other_sites(site.path, line)
    call = loc.at(line, site.col, cst.Call)
    if call is None:
        raise Refused("the call is not where the analysis put it")
    loop = next((n for n in loc.ancestors(call) if isinstance(n, (cst.For, cst.While) + _COMPREHENSIONS + _SCOPES)), None)
    if loop is None or isinstance(loop, _SCOPES):
        raise Refused("the per-item loop is in another function; migrate the helper it calls")
    if isinstance(loop, cst.While):
        raise Refused("a `while` loop: its items are not a collection migrate can hand to a batch")
    deadline = _deadline(ctx)
    if isinstance(loop, cst.For):
        if _stops_early(loop.body) or loop.orelse is not None:
            raise Refused("the loop can stop early (`break`, `return`), so later items would be sent that never were")
        body = list(loop.body.body) if isinstance(loop.body, cst.IndentedBlock) else []
        unit = _unit(loc, site, body, line, others)
        _check_independent(unit, body)
        assigned = _written(body)
        if _names(unit.receiver) & assigned:
            raise Refused("the client is created inside the loop; create it once before the loop")
        answer = loc.fresh_name("answer")
        runner = RUNNERS[(site.op.provider, unit.is_async)][0]
        builder, build = _builder(loc.fresh_name("build_request"), loop.target, unit.prefix, unit.call, loc)
        new_body = loop.body.deep_replace(unit.answered, cst.Name(answer))
        new_loop = loop.with_changes(target=_pair_target(loop.target, answer),
                                     iter=_runner_call(runner, unit, loop.iter, build, deadline), body=new_body)
        module = _insert_before(loc, loop, [builder] if builder else [], new_loop)
        return site.path, _with_runner(module, site.op.provider, unit.is_async, sources.poll_seconds)[0], \
            "its for loop sends one batch"
    comp = loop
    if comp.for_in.inner_for_in is not None or comp.for_in.ifs or comp.for_in.asynchronous is not None:
        raise Refused("a comprehension with filters or several `for`s; rewrite it as one loop over the items first")
    unit = _unit(loc, site, [], line, others)
    if _names(unit.receiver) & _names(comp.for_in.target):
        raise Refused("the client depends on the item")
    answer = loc.fresh_name("answer")
    runner = RUNNERS[(site.op.provider, unit.is_async)][0]
    builder, lam = _builder("", comp.for_in.target, (), unit.call, loc)
    if builder is not None:
        raise Refused("the comprehension unpacks its items; give them one name")
    new_elt = comp.elt.deep_replace(unit.answered, cst.Name(answer)) if comp.elt is not unit.answered else cst.Name(answer)
    new_comp = comp.with_changes(elt=new_elt, for_in=comp.for_in.with_changes(
        target=_pair_target(comp.for_in.target, answer), iter=_runner_call(runner, unit, comp.for_in.iter, lam, deadline)))
    module = loc.replace(comp, new_comp)
    return site.path, _with_runner(module, site.op.provider, unit.is_async, sources.poll_seconds)[0], \
        "its comprehension sends one batch"


def _deadline(ctx: ContextFact) -> float:
    return ctx.deadline_hours * 3600 if ctx.deadline_hours else 0.0


def _helper(sources: Sources, site: CallSite, ctx: ContextFact, hop: Tuple[str, int, str]) -> List[Tuple[str, cst.Module, str]]:
    """The loop calls a helper that makes the call: write `<helper>_batch` next to the helper and
    make the loop's shape call it once with all the items (or, for a helper of several
    parameters, all the argument tuples)."""
    caller_path, caller_line, qualname = hop
    if "." in qualname or qualname != site.call.function:
        raise Refused(f"`{qualname}` is a method or not the function that makes the call; migrate module-level helpers")
    helper = _function_named(sources.located(site.path), qualname)
    names = [p.name.value for p in helper.params.params]
    # `test_x_batch` would be collected by pytest as a test: name it `batch_test_x` instead
    wanted = f"batch_{qualname}" if qualname.startswith("test") else f"{qualname}_batch"
    batch_name = sources.located(site.path).fresh_name(wanted)
    caller, per_item = _rewrite_caller(sources.located(caller_path), sources.line(caller_path, caller_line), qualname,
                                       batch_name, caller_path, len(names), helper.asynchronous is not None)
    sources.update(caller_path, caller.code)  # the loop first: the call is then found where that moved it
    line = sources.line(site.path, site.line)
    loc = sources.located(site.path)
    helper = _function_named(loc, qualname)
    assert isinstance(helper.body, cst.IndentedBlock)
    body = list(helper.body.body)
    unit = _unit(loc, site, body, line, sources.other_sites(site.path, line))
    if unit.is_async != (helper.asynchronous is not None):
        raise Refused("the helper mixes async and sync calls")
    if _awaits(body, unit.answered):
        raise Refused(f"`{qualname}` awaits more than the SDK call; its other awaits cannot run in the batch job")
    _check_independent(unit, body, sorted(_global_names(helper)))
    receiver_names = _names(unit.receiver)
    setup = [s for s in unit.prefix if _written([s]) & receiver_names]
    client_reads = receiver_names.union(*(_names(s) for s in setup))
    if any(names[i] in client_reads for i in per_item):
        raise Refused("the client depends on the item")
    answer = loc.fresh_name("answer")
    runner = RUNNERS[(site.op.provider, unit.is_async)][0]
    finish_body = helper.body.deep_replace(unit.answered, cst.Name(answer))
    assert isinstance(finish_body, cst.IndentedBlock)
    item = names[0] if len(names) == 1 else "args"
    unpack = [] if len(names) == 1 else [cst.parse_statement(f"{', '.join(names)} = args\n")]
    request = cst.FunctionDef(cst.Name("request"), cst.Parameters([_param(item)]), cst.IndentedBlock(
        unpack + [s.with_changes(leading_lines=()) for s in unit.prefix] + [cst.SimpleStatementLine([cst.Return(
            _params(unit.call))])]), leading_lines=[cst.EmptyLine(indent=False)])
    finish = cst.FunctionDef(cst.Name("finish"), cst.Parameters([_param(item), _param(answer)]),
                             finish_body.with_changes(body=tuple(unpack) + tuple(finish_body.body)),
                             leading_lines=[cst.EmptyLine(indent=False)])
    pairs = _runner_call(runner, unit, cst.Name("items"), cst.Name("request"), _deadline(ctx))
    result = _fill(cst.parse_statement(f"return [finish(item, {answer}) for item, {answer} in PAIRS]\n"), "PAIRS", pairs)
    doc = cst.parse_statement(f'"""`{qualname}` for every item, through the {batch_api(site.op.provider)}.\n\n'
                              f'    Written by `whowaits migrate`: the same answers in the same order,'
                              f' at batch prices.\n    """\n')
    bind: List[cst.BaseStatement] = []
    if len(names) > 1 and client_reads & set(names):  # the client comes in as an argument, the same for every call
        bind = [cst.parse_statement(s) for s in ("items = list(items)\n", "if not items:\n    return []\n",
                                                  f"{', '.join(names)} = items[0]\n")]
    batch = cst.FunctionDef(
        cst.Name(batch_name), cst.Parameters([_param("items")]),
        cst.IndentedBlock([doc, *bind, *[s.with_changes(leading_lines=()) for s in setup], request, finish,
                           result.with_changes(leading_lines=[cst.EmptyLine(indent=False)])]),
        asynchronous=helper.asynchronous, leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body_after = []
    for statement in loc.module.body:
        body_after.append(statement)
        if statement is helper:
            body_after.append(batch)
    module = loc.module.with_changes(body=body_after)
    module, _ = _with_runner(module, site.op.provider, unit.is_async, sources.poll_seconds)
    out = [(caller_path, caller, f"{caller_path}:{caller_line} calls `{batch_name}` once")]
    if caller_path == site.path:
        return [(site.path, module, f"`{batch_name}` sends one batch for all the items of `{qualname}`; " + out[0][2])]
    return [(site.path, module, f"`{batch_name}` sends one batch for all the items of `{qualname}`")] + out


def _function_named(loc: Located, name: str) -> cst.FunctionDef:
    """The module-level function `name`, with plain positional parameters only."""
    helper = next((s for s in loc.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name), None)
    if helper is None or not isinstance(helper.body, cst.IndentedBlock):
        raise Refused(f"`{name}` is not a plain module-level function")
    params = helper.params
    if not params.params or params.star_arg not in (cst.MaybeSentinel.DEFAULT, None) or params.kwonly_params \
            or params.star_kwarg or params.posonly_params:
        raise Refused(f"`{name}` takes `*args`, keyword-only or no parameters; migrate helpers of plain parameters")
    return helper


def _walk(node: cst.CSTNode) -> List[cst.CSTNode]:
    out: List[cst.CSTNode] = []

    class Visitor(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            out.append(n)
            return True

    node.visit(Visitor())
    return out


def _fill(statement: cst.BaseStatement, placeholder: str, value: cst.BaseExpression) -> cst.BaseStatement:
    """`statement` with the name `placeholder` replaced by `value`."""
    hole = next(n for n in _walk(statement) if isinstance(n, cst.Name) and n.value == placeholder)
    return statement.deep_replace(hole, value)  # type: ignore[arg-type]


def _awaits(body: Sequence[cst.BaseStatement], answered: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Await) and n is not answered for s in body for n in _walk(s))


def _global_names(helper: cst.FunctionDef) -> Set[str]:
    return {name.name.value for n in _walk(helper) if isinstance(n, cst.Global) for name in n.names}


def _rewrite_caller(loc: Located, line: int, helper: str, batch: str, caller_path: str,
                    arity: int, is_async: bool) -> Tuple[cst.Module, Set[int]]:
    """Make the loop at `line` call `batch` once (comprehension, for loop, executor.map or
    gather); also say which of the helper's arguments change from item to item. An async
    helper's coroutines must be gathered right there or awaited in the loop."""
    def refers(expr: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        if isinstance(expr, cst.Name) and expr.value == helper:
            return cst.Name(batch)
        if isinstance(expr, cst.Attribute) and expr.attr.value == helper:
            return expr.with_changes(attr=cst.Name(batch))
        return None

    candidates = [n for n, where in loc.positions.items()
                  if isinstance(n, cst.Call) and where.start.line <= line <= where.end.line]
    for call in sorted(candidates, key=lambda n: (loc.positions[n].start.line != line, loc.positions[n].start.column)):
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "map" and call.args \
                and refers(call.args[0].value) is not None:
            if len(call.args) != 2 or arity != 1:
                raise Refused("executor.map over several iterables; migrate helpers it maps over one")
            new: cst.BaseExpression = cst.Call(refers(call.args[0].value), [cst.Arg(call.args[1].value)])  # type: ignore[arg-type]
            return _import_batch(loc.replace(call, new), helper, batch), {0}
        target = refers(call.func)
        if target is None:
            continue
        if len(call.args) != arity or any(a.keyword or a.star for a in call.args):
            raise Refused(f"the loop calls `{helper}` with keyword, starred or default arguments; pass each one by position")
        args = [a.value for a in call.args]
        parent = loc.parents.get(call)
        if isinstance(parent, _COMPREHENSIONS) and parent.elt is call:
            comp = parent
            if comp.for_in.inner_for_in or comp.for_in.ifs:
                raise Refused("the comprehension filters or nests its loops")
            per_item = {i for i, a in enumerate(args) if _names(a) & _names(comp.for_in.target)}
            batched: cst.BaseExpression = cst.Call(target, [cst.Arg(_arguments(args, comp.for_in.target, comp.for_in.iter))])
            holder = loc.parents.get(comp)
            gather = loc.parents.get(holder) if isinstance(holder, cst.Arg) and holder.star == "*" else None
            if isinstance(gather, cst.Call) and isinstance(gather.func, (cst.Attribute, cst.Name)) and \
                    (gather.func.attr.value if isinstance(gather.func, cst.Attribute) else gather.func.value) == "gather":
                if len(gather.args) != 1:
                    raise Refused("the gather mixes the per-item calls with other awaitables")
                return _import_batch(loc.replace(gather, batched), helper, batch), per_item
            if is_async:
                raise Refused(f"the coroutines of `{helper}` are gathered or scheduled elsewhere; "
                              "gather them where they are made")
            if isinstance(comp, cst.SetComp):
                batched = cst.Call(cst.Name("set"), [cst.Arg(batched)])
            return _import_batch(loc.replace(comp, batched), helper, batch), per_item
        loop = next((n for n in loc.ancestors(call) if isinstance(n, (cst.For, cst.While) + _SCOPES)), None)
        if isinstance(loop, cst.For) and isinstance(loop.body, cst.IndentedBlock):
            if _stops_early(loop.body) or loop.orelse is not None:
                raise Refused("the loop can stop early (`break`, `return`), so later items would be sent that never were")
            _statement_index(loc, loop.body.body, call)
            written = _written(list(loop.body.body))
            if written & _names(loop.target):
                raise Refused("the loop reassigns its item")
            if any(_names(a) & written for a in args):
                raise Refused(f"an argument of `{helper}` is computed in the loop body; compute it in the call")
            per_item = {i for i, a in enumerate(args) if _names(a) & _names(loop.target)}
            answer = loc.fresh_name("answer")
            items = loc.fresh_name("items")
            materialise = _fill(cst.parse_statement(f"{items} = list(ITER)\n"), "ITER", loop.iter)
            calls = _arguments(args, loop.target, cst.Name(items))
            awaited = loc.parents.get(call)
            if is_async and not isinstance(awaited, cst.Await):
                raise Refused(f"the coroutines of `{helper}` are not awaited in the loop")
            answers: cst.BaseExpression = cst.Call(target, [cst.Arg(calls)])
            new_loop = loop.with_changes(
                target=_pair_target(loop.target, answer),
                iter=cst.Call(cst.Name("zip"), [cst.Arg(cst.Name(items)),
                                                cst.Arg(cst.Await(answers) if is_async else answers)]),
                body=loop.body.deep_replace(awaited if is_async else call, cst.Name(answer)))  # type: ignore[arg-type]
            return _import_batch(_insert_before(loc, loop, [materialise], new_loop), helper, batch), per_item
        raise Refused(f"the per-item call of `{helper}` is not in a comprehension, for loop, executor.map or gather "
                      "that migrate rewrites")
    raise Refused(f"no call of `{helper}` found at {caller_path}:{line}")


def _arguments(args: Sequence[cst.BaseExpression], target: cst.BaseAssignTargetExpression,
               iterable: cst.BaseExpression) -> cst.BaseExpression:
    """What the batch function takes: the items themselves when the helper takes just the item,
    else `[arg for target in iterable]` or `[(arg, ...) for target in iterable]`."""
    if len(args) == 1 and isinstance(args[0], cst.Name) and isinstance(target, cst.Name) and args[0].value == target.value:
        return iterable
    element = args[0] if len(args) == 1 else cst.Tuple([cst.Element(a) for a in args])
    return cst.ListComp(element, cst.CompFor(target, iterable))


def _import_batch(module: cst.Module, helper: str, batch: str) -> cst.Module:
    """Import `batch` wherever `helper` is imported by name (`from x import helper`)."""

    class AddImport(cst.CSTTransformer):
        def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
            if isinstance(updated.names, cst.ImportStar):
                return updated
            names = list(updated.names)
            for alias in names:
                if isinstance(alias.name, cst.Name) and alias.name.value == helper:
                    if alias.asname is not None:
                        raise Refused(f"`{helper}` is imported under another name; import it by its own name first")
                    if not any(isinstance(a.name, cst.Name) and a.name.value == batch for a in names):
                        last = names[-1]
                        names[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                        names.append(cst.ImportAlias(cst.Name(batch), comma=last.comma))
                    return updated.with_changes(names=names)
            return updated

    return module.visit(AddImport())


# -- driver -------------------------------------------------------------------------------------


def _targets(result: RunResult) -> List[CallSite]:
    """The per-item sites of a run: those with a WW201 (sequential) or WW202 (fanned out) finding."""
    by_place = {(s.path, s.line): s for s in result.sites}
    out: List[CallSite] = []
    for finding in result.findings:
        site = by_place.get((finding.path, finding.line))
        if finding.code in MIGRATABLE and site is not None and all(site is not s for s in out):
            out.append(site)
    return out


def plan(site: CallSite, sources: Sources) -> Migration:
    """Rewrite one site in `sources` (their current texts), or say why not."""
    saved = sources.snapshot()
    try:
        ctx = _context(site)
        hop = _hop(ctx)
        changes = _helper(sources, site, ctx, hop) if hop else [_direct(sources, site, ctx)]
    except Refused as exc:
        sources.restore(saved)
        return Migration(site, refused=str(exc))
    texts = {}
    for path, module, _ in changes:
        sources.update(path, module.code)
        texts[path] = module.code
    return Migration(site, texts, summary="; ".join(note for _, _, note in changes))


def verify(before: RunResult, migrations: Sequence[Migration], reanalyze: Reanalyze) -> RunResult:
    """Lint the migrated project: mark refused the migrations whose files gain a finding."""
    done = [m for m in migrations if m.texts]
    if not done:
        return before
    contents: Dict[str, bytes] = {}
    for migration in done:
        contents.update({p: t.encode("utf-8") for p, t in migration.texts.items()})
    after = reanalyze(contents)
    migrated = {(m.site.path, m.site.line) for m in done}
    was = Counter((f.path, f.code) for f in before.findings if (f.path, f.line) not in migrated or f.code not in MIGRATABLE)
    now = Counter((f.path, f.code) for f in after.findings)
    for migration in done:
        gained = [f for f in after.findings if f.path in migration.texts and now[(f.path, f.code)] > was[(f.path, f.code)]]
        if gained:
            first = gained[0]
            migration.refused = f"the migrated code would be reported: {first.path}:{first.line}: {first.code} {first.message}"
    return after



@dataclass
class Report:
    """The outcome of a `migrate` run: what changed, what was refused, the diff to show."""

    migrations: List[Migration]
    contents: Dict[str, bytes]  # relpath -> migrated bytes
    originals: Dict[str, bytes]


def _matches(site: CallSite, path: str, line: int) -> bool:
    """PATH:LINE names the call, its per-item loop or the loop's call of the helper."""
    if site.path == path and site.call.span.line <= line <= site.call.span.end_line:
        return True
    places = [c.per_item.rsplit(" at ", 1)[-1] for c in site.contexts if c.per_item]
    places += [f"{step.path}:{step.line}" for c in site.contexts for step in c.evidence
               if "(per item" in step.note or "(fanned out" in step.note]
    return f"{path}:{line}" in places


def run(result: RunResult, wanted: Optional[Sequence[Tuple[str, int]]], read: Callable[[str], Optional[bytes]],
        reanalyze: Reanalyze, poll_interval_min: float) -> Report:
    """Migrate the per-item sites at `wanted` (PATH, LINE) places, or all of them (None); the
    runners poll every 60 s, or `poll-interval-min` when that is longer."""
    chosen = [site for site in _targets(result) if wanted is None or any(_matches(site, path, line) for path, line in wanted)]
    site_lines: Dict[str, Set[int]] = {}
    for site in result.sites:
        site_lines.setdefault(site.path, set()).add(site.line)
    sources = Sources(read, max(60.0, poll_interval_min), site_lines)
    migrations = [plan(site, sources) for site in chosen]
    verify(result, migrations, reanalyze)
    refused_paths = {p for m in migrations if m.refused for p in m.texts}
    contents: Dict[str, bytes] = {}
    for migration in migrations:
        if migration.texts and refused_paths & set(migration.texts):
            migration.refused = migration.refused or \
                "another migration in the same file was refused; migrate this site on its own"
            migration.texts = {}
        for path in migration.texts:
            contents[path] = sources.current[path].encode("utf-8")
    originals = {p: sources.original[p].encode("utf-8") for p in contents}
    return Report(migrations, contents, originals)

