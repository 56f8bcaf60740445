"""What a submission's source shows, read in the trusted process (``ast``; nothing is run).

Some outcomes exist only inside the student's process: whether a tensor shares an array's
memory, whether a function changed its argument in place, whose code ran while it worked.
The job can observe them, but the job is the student's process: it can replace the helper
that observes, switch off a profiling hook or do the work in another thread.  So the points
for such an outcome rest on a reading of the uploaded source; what the job observes may only
take points away (SANDBOX.md, "Outcomes only the job can see").

A reading is conservative.  Where the source changes code at run time (patched modules,
``setattr``, ``sys.modules``, frames, threads, ``__torch_function__``), imports code that is
not in the upload, or does something the reading cannot follow, the finding says so with a
line number, and the check gives no points for it.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import re
import sys
from collections.abc import Collection, Iterable, Mapping

from grader import submission
from grader.checks import Verdict, failed
from grader.i18n import Message, _

LIBRARIES = {"torch", "torchvision", "numpy", "PIL"}
# Attribute names that reach frames, globals, the import system or the interpreter's hooks.
REFLECTIVE_ATTRIBUTES = {
    "modules", "setprofile", "settrace", "_getframe", "meta_path", "path_hooks", "addaudithook", "__globals__",
    "__builtins__", "__code__", "__closure__", "__dict__", "__setattr__", "__delattr__", "__getattribute__",
    "__subclasses__", "__bases__", "__mro__", "__class__", "f_globals", "f_locals", "f_back", "tb_frame", "gi_frame",
    "cr_frame", "__torch_function__", "__torch_dispatch__", "_C", "overrides", "library", "_dynamo", "__import__",
    # loaders that unpickle, and so run, whatever a file names; calls of a method named by a string
    "load", "loads", "Unpickler", "jit", "package", "hub", "methodcaller", "attrgetter",
}
REFLECTIVE_CALLS = {"setattr", "delattr", "eval", "exec", "compile", "__import__", "globals", "locals", "vars",
                    "breakpoint"}
# Modules whose use lets code run where the reading cannot see it (another thread, a signal
# handler, a collector callback, a foreign function) or reach the grader's helpers.
REFLECTIVE_MODULES = {"grader", "importlib", "ctypes", "gc", "inspect", "threading", "_thread", "multiprocessing",
                      "concurrent", "signal", "builtins", "types", "code", "codeop", "runpy", "pickle", "marshal",
                      "dis", "weakref", "atexit", "sched", "asyncio", "pdb", "trace", "traceback", "faulthandler"}


@dataclasses.dataclass(frozen=True)
class Finding:
    """``ok`` when the reading shows what was asked; else ``reason``: what it found, and where."""

    ok: bool
    reason: Message = ""  # a catalogue message; when ``ok``, what a reading found (data: a call's name)


FOUND = Finding(True)


class Inconclusive(Exception):
    """The reading met something it cannot follow (``reason``: a catalogue message)."""

    def __init__(self, reason: Message):
        super().__init__(str(reason))
        self.reason = reason


# ---------------------------------------------------------------------------- the upload

@dataclasses.dataclass
class Module:
    name: str
    tree: ast.Module
    imports: dict[str, str]          # local name -> "torch", "torchvision.transforms", "numpy.asarray"
    definitions: dict[str, list]     # module-level name -> every statement binding it

    def function(self, name: str) -> ast.FunctionDef | None:
        bound = self.definitions.get(name, [])
        if len(bound) == 1 and isinstance(bound[0], ast.FunctionDef) and not bound[0].decorator_list:
            return bound[0]
        return None


class Source:
    """The Python files of one upload, parsed; ``entry`` is the module the checks import.  A
    notebook's entry is torchgrade's own driver running the cells: its cells are read, in
    order, as the entry module."""

    def __init__(self, files: Mapping[str, bytes], entry: str):
        self.modules: dict[str, Module] = {}
        self.entry = entry.removesuffix(".py").replace("/", ".")
        cells = _notebook_cells(files, entry)
        for path, content in files.items():
            if path.endswith(".py") and path not in cells and path != (entry if cells else None):
                name = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
                self.modules[name] = _parse(name, content)
        if cells:
            self.modules[self.entry] = _parse(self.entry, b"\n".join(files[cell] for cell in cells))

    @property
    def readable(self) -> bool:
        return self.modules.get(self.entry) is not None and all(m is not None for m in self.modules.values())

    @functools.cached_property
    def tampering(self) -> Finding:
        """Whether any file changes code at run time or imports code the reading cannot see."""
        if not self.readable:
            return Finding(False, _("a file of your upload could not be parsed"))
        for name in self.modules:
            top = name.partition(".")[0]
            if top in LIBRARIES or top in sys.stdlib_module_names:
                return Finding(False, _("your upload has a file {path}, which takes the place of the library "
                                        "{library}", path=f"{name.replace('.', '/')}.py", library=top))
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                problem = self._tampering(module, node)
                if problem:
                    return Finding(False, _("line {line} of {file} {problem}", line=node.lineno,
                                            file=f"{module.name}.py", problem=problem))
        return FOUND

    def _tampering(self, module: Module, node: ast.AST) -> Message:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return self._foreign_import(node)
        if isinstance(node, ast.Attribute) and node.attr in REFLECTIVE_ATTRIBUTES:
            return _("uses {name}", name=f".{node.attr}")
        if isinstance(node, ast.Name) and node.id in REFLECTIVE_CALLS | {"__builtins__"}:
            return _("uses {name}", name=node.id)
        if isinstance(node, ast.FunctionDef) and node.name in ("__torch_function__", "__torch_dispatch__"):
            return _("defines {name}, which changes what torch operations do", name=node.name)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                root = _root(target)
                if not isinstance(target, ast.Name) and root is not None and root in module.imports:
                    return _("changes {target}, a part of {library}", target=ast.unparse(target),
                             library=module.imports[root])
        if isinstance(node, ast.Call) and _called_name(node) == "getattr" and not (
                len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
            return "uses getattr with a computed name"
        return ""

    def _foreign_import(self, node: ast.Import | ast.ImportFrom) -> Message:
        if isinstance(node, ast.ImportFrom) and node.level:
            return ""  # relative: a file of the upload
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        parts = {part for name in names for part in name.split(".")} | {alias.name for alias in node.names}
        if parts & (REFLECTIVE_ATTRIBUTES | REFLECTIVE_MODULES):
            return _("imports {names}", names=", ".join(sorted(parts & (REFLECTIVE_ATTRIBUTES | REFLECTIVE_MODULES))))
        for name in names:
            top = name.partition(".")[0]
            if top in REFLECTIVE_MODULES:
                return _("imports {names}", names=name)
            if not (top in LIBRARIES or top in sys.stdlib_module_names or self._in_upload(name)):
                return _("imports {name}, which is not part of your upload", name=name)
        return ""

    def _in_upload(self, name: str) -> bool:
        return any(module == name or module.startswith(name + ".") or name.startswith(module + ".")
                   for module in self.modules)

    def function(self, name: str, module: str | None = None, depth: int = 0) -> tuple[Module, ast.FunctionDef]:
        """The one plain ``def name`` the entry module binds (possibly imported from another
        file of the upload).  Raises ``Inconclusive`` otherwise."""
        home = self.modules.get(module or self.entry)
        if home is None or depth > 8:
            raise Inconclusive(_("{name} is not defined by a file of your upload", name=name))
        function = home.function(name)
        if function is not None:
            return home, function
        bound = home.definitions.get(name, [])
        if len(bound) == 1 and isinstance(bound[0], ast.ImportFrom):
            origin = home.imports[name].rpartition(".")
            if origin[0] in self.modules:
                return self.function(origin[2], origin[0], depth + 1)
        raise Inconclusive(_("{name} is not a single plain def in {file} (it is bound {count} time(s), decorated, "
                             "or assigned)", name=name, file=f"{home.name}.py", count=len(bound)))


def _notebook_cells(files: Mapping[str, bytes], entry: str) -> list[str]:
    """The cell files in the order they run, when ``entry`` is the driver that
    ``grader.submission`` writes for a notebook; else nothing."""
    driver, folder = getattr(submission, "NOTEBOOK_DRIVER", None), getattr(submission, "NOTEBOOK_CELLS", None)
    if driver is None or folder is None:
        return []
    numbers = sorted(int(found[1]) for path in files if (found := re.fullmatch(rf"{folder}/cell_(\d+)\.py", path)))
    if files.get(entry) != driver.format(cells=numbers, folder=folder).encode():
        return []
    return [f"{folder}/cell_{number}.py" for number in numbers]


def _parse(name: str, content: bytes) -> Module | None:
    try:
        tree = ast.parse(content.decode("utf-8-sig"))
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return None
    module = Module(name, tree, {}, {})
    for statement in _module_level(tree.body):
        for bound in _bound_names(statement, module.imports, name):
            module.definitions.setdefault(bound, []).append(statement)
    return module


def _module_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements run at import, through if/try/with blocks, except an ``if __name__ == "__main__"``."""
    for statement in body:
        if isinstance(statement, ast.If) and _is_main_guard(statement.test):
            yield from _module_level(statement.orelse)
        elif isinstance(statement, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
            yield statement
            for block in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(statement, block, []))
            for handler in getattr(statement, "handlers", []):
                yield from _module_level(handler.body)
        else:
            yield statement


def _is_main_guard(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and ast.unparse(test).replace("'", '"') == '__name__ == "__main__"'


def _bound_names(statement: ast.stmt, imports: dict[str, str], module: str) -> list[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            local = alias.asname or alias.name.partition(".")[0]
            imports[local] = alias.name if alias.asname else local
        return [alias.asname or alias.name.partition(".")[0] for alias in statement.names]
    if isinstance(statement, ast.ImportFrom):
        base = statement.module or ""
        if statement.level:
            package = module.rsplit(".", statement.level)[0] if "." in module else ""
            base = ".".join(p for p in (package, base) if p)
        for alias in statement.names:
            imports[alias.asname or alias.name] = f"{base}.{alias.name}"
        return [alias.asname or alias.name for alias in statement.names]
    if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With, ast.Delete)):
        return [node.id for node in ast.walk(statement) if isinstance(node, ast.Name)
                and isinstance(node.ctx, (ast.Store, ast.Del))]
    return [node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)]


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    if isinstance(node, ast.Call):
        return _root(node.func)
    return node.id if isinstance(node, ast.Name) else None


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _dotted(node: ast.expr, module: Module) -> str:
    """``torch.from_numpy`` for ``th.from_numpy`` after ``import torch as th``; "" if unknown."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in module.imports:
        return ""
    return ".".join([module.imports[node.id], *reversed(parts)])


def reading(source: Source | None, read) -> Finding:
    """``read(source)`` after the upload-wide checks; ``Inconclusive`` becomes a finding."""
    if source is None:
        return Finding(False, _("the grader has no source to read"))
    tampering = source.tampering
    if not tampering.ok:
        return tampering
    try:
        return read(source)
    except Inconclusive as exc:
        return Finding(False, exc.reason)


def verdict(finding: Finding, what: Message) -> Verdict | None:
    """None when the source shows ``what`` (a message: "that normalize leaves t unchanged"); else a
    failed verdict that says why not (the finding's reason, with its line number, as it is)."""
    if finding.ok:
        return None
    return failed(_("the grader confirms {what} by reading your source, and it could not: {reason}", what=what,
                    reason=finding.reason))


# ---------------------------------------------------------------------------- readings

def _returns(function: ast.FunctionDef) -> list[ast.expr | None]:
    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.Return):
                found.append(child.value)
            visit(child)
    visit(function)
    return found


def _assignments(function: ast.FunctionDef) -> dict[str, list[ast.expr]]:
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For)) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    value = getattr(node, "value", None) if not isinstance(node, (ast.AugAssign, ast.For)) else None
                    assigned.setdefault(name.id, []).append(value)
    return assigned


def _resolved(expr: ast.expr | None, assigned: dict[str, list], depth: int = 0) -> ast.expr | None:
    """A local name assigned exactly once is replaced by its value."""
    while isinstance(expr, ast.Name) and len(assigned.get(expr.id, [])) == 1 and depth < 16:
        expr, depth = assigned[expr.id][0], depth + 1
    return expr


def _parameters(function: ast.FunctionDef) -> list[str]:
    return [a.arg for a in (*function.args.posonlyargs, *function.args.args)]


def returned_call(source: Source, name: str, argument: int = 0) -> str:
    """What every ``return`` of ``name`` gives, when it is a call on the function's parameter
    number ``argument`` itself, possibly followed by argument-less methods: ``torch.from_numpy``,
    ``torch.from_numpy().float()``.  Raises ``Inconclusive`` for anything else."""
    module, function = source.function(name)
    parameters, assigned = _parameters(function), _assignments(function)
    if len(parameters) <= argument or parameters[argument] in assigned:
        raise Inconclusive(_("{name} does not take its argument as a plain, unchanged parameter", name=name))
    shapes = {_call_chain(_resolved(value, assigned), module, parameters[argument], assigned) for value in
              _returns(function)}
    if len(shapes) != 1 or "" in shapes:
        lines = ", ".join(str(getattr(v, "lineno", "?")) for v in _returns(function)) or str(function.lineno)
        raise Inconclusive(_("{name} (line {lines}) does not return one call on its argument itself", name=name,
                             lines=lines))
    return shapes.pop()


def _call_chain(expr: ast.expr | None, module: Module, parameter: str, assigned: dict) -> str:
    root = _root(expr) if expr is not None else None
    bindings = module.definitions.get(root or "", [])
    if root in assigned or root == parameter or not bindings or not all(
            isinstance(b, (ast.Import, ast.ImportFrom)) for b in bindings):
        return ""  # the module name is rebound (locally or at module level): the call is not the library's
    methods = []
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and not expr.args \
            and not expr.keywords and not _dotted(expr.func, module):
        methods.append(f".{expr.func.attr}()")
        expr = _resolved(expr.func.value, assigned)
    if not (isinstance(expr, ast.Call) and _dotted(expr.func, module) and not expr.keywords and len(expr.args) == 1
            and isinstance(expr.args[0], ast.Name) and expr.args[0].id == parameter):
        return ""
    return _dotted(expr.func, module) + ("()" + "".join(reversed(methods)) if methods else "")


Spellings = Collection[str] | re.Pattern  # canonical texts, or a pattern they must match whole


def returns_pair(source: Source, name: str, first: Spellings, second: Spellings) -> Finding:
    """Every ``return`` of ``name`` is a pair whose elements read, with the function's first two
    parameters written ``a`` and ``b``, as one of ``first`` and one of ``second`` (``ast.unparse``
    text such as ``id(a)``, or a compiled pattern that such texts match whole).
    When they do, the finding's reason is the first return's pair as read: ``(id(a), id(b.data))``."""
    module, function = source.function(name)
    parameters, assigned = _parameters(function), _assignments(function)
    if len(parameters) < 2 or {parameters[0], parameters[1]} & set(assigned):
        return Finding(False, _("{name} does not take its two arguments as plain, unchanged parameters", name=name))
    returns = _returns(function)
    if not returns:
        return Finding(False, _("{name} has no return statement", name=name))
    spelled = []
    for value in returns:
        pair = _resolved(value, assigned)
        if not (isinstance(pair, (ast.Tuple, ast.List)) and len(pair.elts) == 2):
            return Finding(False, _("{name} does not return a pair", name=name))
        texts = [_canonical(_resolved(e, assigned), parameters[:2]) for e in pair.elts]
        if not (_spelled(texts[0], first) and _spelled(texts[1], second)):
            return Finding(False, _("{name} returns {pair}", name=name, pair=f"({', '.join(texts)})"))
        spelled.append(f"({', '.join(texts)})")
    return Finding(True, spelled[0])


def _spelled(text: str, spellings: Spellings) -> bool:
    return bool(spellings.fullmatch(text)) if isinstance(spellings, re.Pattern) else text in spellings


def _canonical(expr: ast.expr | None, parameters: list[str]) -> str:
    if expr is None:
        return "None"
    renamed = ast.parse(ast.unparse(expr), mode="eval")
    for node in ast.walk(renamed):
        if isinstance(node, ast.Name) and node.id in parameters:
            node.id = "ab"[parameters.index(node.id)]
    return ast.unparse(renamed).replace("'", '"')


def uses_module(source: Source, name: str, package: str) -> Finding:
    """Whether ``name`` can reach ``package``: its body, and every module-level function, class
    and value of the upload it refers to, refer to nothing imported from ``package``."""
    module, function = source.function(name)
    seen: set[int] = set()
    pending: list[tuple[Module, ast.AST]] = [(module, function)]
    while pending:
        home, node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for inner in ast.walk(node):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str) and package in inner.value:
                return Finding(False, _("line {line}: {name} refers to {package} ({text!r})", line=inner.lineno,
                                        name=name, package=package, text=inner.value[:60]))
            if isinstance(inner, ast.Attribute) and inner.attr == package:
                return Finding(False, _("line {line}: {name} uses {used}", line=inner.lineno, name=name,
                                        used=ast.unparse(inner)[:60]))
            if not isinstance(inner, ast.Name):
                continue
            origin = home.imports.get(inner.id, "")
            if origin.partition(".")[0] == package:
                return Finding(False, _("line {line}: {name} uses {used}, imported from {origin}",
                                        line=inner.lineno, name=name, used=inner.id, origin=origin))
            pending += [(home, bound) for bound in home.definitions.get(inner.id, []) if id(bound) not in seen]
            if origin.rpartition(".")[0] in source.modules:
                other = source.modules[origin.rpartition(".")[0]]
                pending += [(other, bound) for bound in other.definitions.get(origin.rpartition(".")[2], [])]
    return FOUND


# ---------------------------------------------------------------------------- in-place changes

META_ATTRIBUTES = {"shape", "dtype", "device", "ndim", "layout", "requires_grad", "is_cuda", "itemsize", "size",
                   "nbytes", "is_leaf", "names"}
NEW_TENSOR_METHODS = {
    "clone", "copy", "tolist", "item", "numel", "dim", "size", "stride", "element_size", "add", "sub", "mul", "div",
    "true_divide", "floor_divide", "pow", "neg", "abs", "sqrt", "rsqrt", "exp", "log", "sum", "mean", "std", "var",
    "max", "min", "amax", "amin", "argmax", "argmin", "norm", "prod", "clamp", "clip", "reciprocal", "square",
    "subtract", "multiply", "divide", "__add__", "__sub__", "__mul__", "__truediv__", "__neg__", "__pow__",
    "matmul", "mm", "bmm", "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isfinite", "any", "all", "round",
}
NEW_TENSOR_FUNCTIONS = {
    "clone", "deepcopy", "copy", "sub", "add", "mul", "div", "true_divide", "pow", "neg", "abs", "sqrt", "exp",
    "log", "sum", "mean", "std", "var", "subtract", "multiply", "divide", "stack", "cat", "concat", "zeros_like",
    "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "tensor", "len", "isinstance", "print",
    "float", "int", "str", "repr", "type", "where", "allclose",
    "equal", "isclose", "normalize",
}
MUTATING_CALLS = {"copyto", "put", "place", "putmask", "fill_diagonal", "shuffle", "setitem", "__setitem__",
                  "__delitem__", "at"}
# Methods that may return a view of the argument but never change it.
VIEW_METHODS = {
    "view", "view_as", "reshape", "reshape_as", "permute", "unsqueeze", "squeeze", "expand", "expand_as",
    "contiguous", "detach", "cpu", "to", "float", "double", "half", "long", "int", "type", "type_as", "transpose",
    "t", "flatten", "unflatten", "narrow", "select", "unbind", "split", "chunk", "numpy", "movedim", "swapaxes",
    "diagonal", "unfold", "new_tensor", "new_zeros", "new_ones", "new_empty", "new_full", "astype", "__getitem__",
    "__iter__", "__len__", "__array__", "get_device", "is_contiguous", "is_floating_point", "data_ptr",
}
STORING_METHODS = {"append", "extend", "insert", "add", "update", "setdefault", "appendleft", "push"}
MAX_DEPTH = 6
MAX_HELPERS = 64


def modifies_argument(source: Source, name: str, argument: int = 0) -> Finding:
    """``ok`` when the reading shows that ``name`` never changes its parameter number
    ``argument`` in place (nor a view of it), and never stores it where the reading cannot follow."""
    module, function = source.function(name)
    parameters = _parameters(function)
    if len(parameters) <= argument:
        return Finding(False, _("{name} takes no argument number {number}", name=name, number=argument + 1))
    try:
        _InPlace(source, module, 0, set()).body(function.body, {parameters[argument]})
    except _Changed as change:
        return Finding(False, change.args[0])
    return FOUND


class _Changed(Exception):
    pass


class _InPlace:
    """Follows the names that may refer to the argument (itself, views, iteration over it)
    through one function, statement by statement; branches and loops merge by union."""

    def __init__(self, source: Source, module: Module, depth: int, read: set):
        self.source, self.module, self.depth = source, module, depth
        self.read = read  # (helper, parameters that may hold the argument) already read
        self.nested: set[str] = set()

    def changed(self, node: ast.AST, what: Message):
        raise _Changed(_("line {line}: {what}", line=getattr(node, "lineno", "?"), what=what))

    # -------------------------------------------------------------- statements
    def body(self, statements: list[ast.stmt], aliases: set[str]) -> set[str]:
        for statement in statements:
            aliases = self.statement(statement, aliases)
        return aliases

    def statement(self, node: ast.stmt, aliases: set[str]) -> set[str]:
        if isinstance(node, ast.If):
            self.expression(node.test, aliases)
            return self.body(node.body, set(aliases)) | self.body(node.orelse, set(aliases))
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            loop = isinstance(node, ast.While)
            self.expression(node.test if loop else node.iter, aliases)
            inner, before = set(aliases), None
            while inner != before:  # until the names that may hold the argument stop growing
                before = set(inner)
                if not loop:
                    inner = self.bind(node.target, self.alias(node.iter, aliases), inner, node)
                inner = before | self.body(node.body, inner)
            return aliases | inner | self.body(node.orelse, set(aliases))
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expression(item.context_expr, aliases)
                if item.optional_vars is not None:
                    aliases = self.bind(item.optional_vars, self.alias(item.context_expr, aliases), aliases, node)
            return self.body(node.body, aliases)
        if isinstance(node, ast.Try):
            merged = self.body(node.body, set(aliases))
            for handler in node.handlers:
                merged |= self.body(handler.body, aliases | merged)
            merged = self.body(node.orelse, merged)
            return self.body(node.finalbody, merged)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.body(node.body, set(aliases))  # a closure over the argument: read as if it ran here
            self.nested.add(node.name)
            return aliases - {node.name}
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            self.changed(node, _("declares {names} {scope}, which the reading cannot follow",
                                 names=", ".join(node.names), scope=type(node).__name__.lower()))
        if isinstance(node, ast.Assign):
            self.expression(node.value, aliases)
            for target in node.targets:
                aliases = self.bind(target, self.alias(node.value, aliases), aliases, node)
            return aliases
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expression(node.value, aliases)
                aliases = self.bind(node.target, self.alias(node.value, aliases), aliases, node)
            return aliases
        if isinstance(node, ast.AugAssign):
            self.expression(node.value, aliases)
            if self.alias(node.target, aliases):
                self.changed(node, _("{target} {operator}= … changes the argument in place",
                                     target=ast.unparse(node.target), operator=_operator(node.op)))
            if not isinstance(node.target, ast.Name):
                self.expression(node.target, aliases)
            return aliases
        if isinstance(node, ast.Delete):
            for target in node.targets:
                if not isinstance(target, ast.Name) and self.alias(target, aliases):
                    self.changed(node, _("del {target} changes the argument", target=ast.unparse(target)))
            return aliases
        if isinstance(node, ast.ClassDef):
            self.changed(node, _("defines a class inside the function"))
        if isinstance(node, ast.Match):
            self.changed(node, _("uses match, which the reading does not follow"))
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expression(child, aliases)
        return aliases

    def bind(self, target: ast.expr, is_alias: bool, aliases: set[str], node: ast.AST) -> set[str]:
        if isinstance(target, ast.Name):
            return aliases | {target.id} if is_alias else aliases - {target.id}
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                aliases = self.bind(element, is_alias, aliases, node)
            return aliases
        if isinstance(target, ast.Starred):
            return self.bind(target.value, is_alias, aliases, node)
        if self.alias(target, aliases):
            self.changed(node, _("{target} = … changes the argument in place", target=ast.unparse(target)))
        if is_alias:
            self.changed(node, _("{target} = … stores the argument where the reading cannot follow it",
                                 target=ast.unparse(target)))
        self.expression(target, aliases)
        return aliases

    # -------------------------------------------------------------- expressions
    def expression(self, node: ast.expr, aliases: set[str]) -> None:
        called = {id(inner.func) for inner in ast.walk(node) if isinstance(inner, ast.Call)}
        for inner in ast.walk(node):
            if isinstance(inner, ast.Attribute) and _mutating(inner.attr) and (
                    id(inner) not in called or self.alias(inner.value, aliases)):
                self.changed(inner, _("{code} may change the argument in place", code=ast.unparse(inner)))
            if isinstance(inner, ast.Name) and _mutating(self.module.imports.get(inner.id, "").rpartition(".")[2]):
                self.changed(inner, _("{code} may change the argument in place",
                                      code=f"{inner.id} ({self.module.imports[inner.id]})"))
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str) and _mutating(inner.value):
                self.changed(inner, _("{text!r} names an in-place operation", text=inner.value))
            if isinstance(inner, ast.NamedExpr) and self.alias(inner.value, aliases):
                aliases = aliases | {inner.target.id}
            if isinstance(inner, ast.comprehension) and self.alias(inner.iter, aliases):
                aliases = aliases | {n.id for n in ast.walk(inner.target) if isinstance(n, ast.Name)}
            if isinstance(inner, ast.Lambda):
                self.expression(inner.body, aliases)
            if isinstance(inner, ast.Call):
                self.call(inner, aliases)

    def call(self, node: ast.Call, aliases: set[str]) -> None:
        func, name = node.func, _called_name(node)
        if isinstance(func, ast.Attribute) and self.alias(func.value, aliases):
            if _mutating(name):
                self.changed(node, _("{function}(…) changes the argument in place", function=ast.unparse(func)))
            if name not in NEW_TENSOR_METHODS | VIEW_METHODS | META_ATTRIBUTES:
                self.changed(node, _("{function}(…) is a method the reading does not know to leave the argument "
                                     "unchanged", function=ast.unparse(func)))
        for keyword in node.keywords:
            if keyword.arg == "out" and self.alias(keyword.value, aliases):
                self.changed(node, _("{function}(…, out=…) writes into the argument", function=ast.unparse(func)))
        given = [i for i, a in enumerate(node.args) if self.alias(a, aliases)]
        given_names = {k.arg for k in node.keywords if k.arg and self.alias(k.value, aliases)}
        if not (given or given_names):
            return
        if any(self.function_value(a) for a in [*node.args, *(k.value for k in node.keywords)]):
            self.changed(node, _("passes the argument and a function to {function}, which the reading cannot follow",
                                 function=ast.unparse(func)))
        if _mutating(name):
            self.changed(node, _("{function}(…) changes the argument in place", function=ast.unparse(func)))
        if isinstance(func, ast.Attribute) and name in STORING_METHODS and not self.library(func):
            self.changed(node, _("{function}(…) stores the argument where the reading cannot follow it",
                                 function=ast.unparse(func)))
        if isinstance(func, ast.Name) and func.id in self.module.definitions and func.id not in self.module.imports:
            self.helper(func.id, given, given_names, node)
        elif not self.library(func) and not (isinstance(func, ast.Attribute) and self.alias(func.value, aliases)):
            self.changed(node, _("passes the argument to {function}, which the reading cannot follow",
                                 function=ast.unparse(func)))

    def function_value(self, node: ast.expr) -> bool:
        """A lambda, or a function or class of the upload, handed on as a value."""
        if isinstance(node, ast.Lambda):
            return True
        if not isinstance(node, ast.Name):
            return False
        bound = self.module.definitions.get(node.id, [])
        return node.id in self.nested or any(isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                                             for b in bound)

    def library(self, func: ast.expr) -> bool:
        """A callable of torch, numpy, the standard library or the builtins, not of the upload: a
        dotted name, or what such a callable returns when given nothing of the upload's code
        (``transforms.Normalize(mean, std)``)."""
        if any(isinstance(node, ast.expr) and self.function_value(node) for node in ast.walk(func)):
            return False
        root = _root(func)
        if root is None or root in self.module.definitions and root not in self.module.imports:
            return False
        if root in self.module.imports:
            return self.module.imports[root].rpartition(".")[0] not in self.source.modules \
                and self.module.imports[root] not in self.source.modules
        return hasattr(builtins, root)

    def helper(self, name: str, given: list[int], given_names: set[str], node: ast.AST) -> None:
        function = self.module.function(name)
        if function is None or self.depth >= MAX_DEPTH:
            self.changed(node, _("passes the argument to {function}, which the reading cannot follow",
                                 function=name))
        parameters = _parameters(function)
        inner = {parameters[i] for i in given if i < len(parameters)} | (given_names & set(parameters))
        if (name, frozenset(inner)) in self.read:
            return
        if len(self.read) >= MAX_HELPERS:
            self.changed(node, _("calls more helpers with the argument than the reading follows"))
        self.read.add((name, frozenset(inner)))
        _InPlace(self.source, self.module, self.depth + 1, self.read).body(function.body, inner)

    def alias(self, node: ast.expr | None, aliases: set[str]) -> bool:
        """Whether ``node`` may evaluate to the argument or a view of its memory."""
        if node is None:
            return False
        if isinstance(node, ast.Name):
            return node.id in aliases
        if isinstance(node, ast.Attribute):
            return node.attr not in META_ATTRIBUTES and self.alias(node.value, aliases)
        if isinstance(node, (ast.Subscript, ast.Starred)):
            return self.alias(node.value, aliases)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and self.alias(node.func.value, aliases):
                return node.func.attr not in NEW_TENSOR_METHODS
            arguments = [*node.args, *(k.value for k in node.keywords)]
            return any(self.alias(a, aliases) for a in arguments) and _called_name(node) not in NEW_TENSOR_FUNCTIONS
        if isinstance(node, ast.IfExp):
            return self.alias(node.body, aliases) or self.alias(node.orelse, aliases)
        if isinstance(node, ast.BoolOp):
            return any(self.alias(v, aliases) for v in node.values)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(self.alias(e, aliases) for e in node.elts)
        if isinstance(node, ast.Dict):
            return any(self.alias(v, aliases) for v in node.values)
        if isinstance(node, ast.NamedExpr):
            return self.alias(node.value, aliases)
        return False


def _mutating(name: str) -> bool:
    in_place_method = name.endswith("_") and not name.endswith("__") and name != "_"
    in_place_operator = name.startswith("__i") and name.endswith("__") and name not in ("__init__", "__iter__",
                                                                                     "__index__", "__int__")
    return in_place_method or in_place_operator or name in MUTATING_CALLS or (
        len(name) > 1 and name[0] == "i" and name[1:] in {"add", "sub", "mul", "truediv", "floordiv", "pow", "mod",
                                                           "matmul", "and", "or", "xor", "lshift", "rshift",
                                                           "concat"})


def _operator(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Pow: "**",
            ast.Mod: "%", ast.MatMult: "@"}.get(type(op), "?")
