"""Reading a submission's code without running it: where each graded function is
defined, and whether it just hands back the package's own implementation."""
import ast

from IPython.core.inputtransformer2 import TransformerManager

from ..selfcheck import resolve

_transformer = TransformerManager()


def parse_cell(source):
    """The ast of one code cell (IPython magics turned into Python first), or the SyntaxError."""
    try:
        return ast.parse(_transformer.transform_cell(source))
    except (SyntaxError, ValueError) as e:
        return e if isinstance(e, SyntaxError) else SyntaxError(str(e))
    except Exception as e:             # IPython's transformer failing on odd input
        return SyntaxError(str(e))


def _dotted(node, aliases):
    """``a.b.c`` for a Name/Attribute chain, with the first name replaced by its alias."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    head = aliases.get(node.id)
    if head is None:
        return None
    return ".".join([head] + parts[::-1])


def _aliases(trees, own_names):
    """Names bound to the package or its members by imports (and simple assignments) anywhere."""
    import bpcourse
    aliases = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "bpcourse":
                        if a.asname:
                            aliases[a.asname] = a.name
                        else:
                            aliases["bpcourse"] = "bpcourse"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bpcourse":
                for a in node.names:
                    if a.name == "*":
                        module = resolve(node.module)
                        for n in getattr(module, "__all__", getattr(bpcourse, "__all__", [])):
                            aliases.setdefault(n, f"{node.module}.{n}")
                    else:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for tree in trees:                 # x = bpcourse.network.forward
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                d = _dotted(node.value, aliases)
                if d:
                    aliases[node.targets[0].id] = d
    for n in own_names:                # the learner's own def shadows an imported name
        aliases.pop(n, None)
    return aliases


def analyse(sources):
    """What the code cells ``sources`` (list of str) define.

    Returns (trees, definitions, syntax_errors): trees[i] is the ast of cell i or
    None; definitions maps a top-level name to (cell index, node) of its last
    binding (def, assignment or import); syntax_errors maps cell index to message.
    """
    trees, definitions, errors = [], {}, {}
    for i, src in enumerate(sources):
        tree = parse_cell(src)
        if isinstance(tree, SyntaxError):
            errors[i] = f"{tree.msg if hasattr(tree, 'msg') else tree} (line {getattr(tree, 'lineno', '?')})"
            trees.append(None)
            continue
        trees.append(tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                definitions[node.name] = (i, node)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        definitions[t.id] = (i, node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    definitions[(a.asname or a.name).split(".")[0]] = (i, node)
    return trees, definitions, errors


def package_uses(name, forbidden, trees, definitions):
    """The forbidden package functions the definition of ``name`` refers to (dotted names).

    Catches ``def f(...): return bpcourse.network.forward(...)``, an imported alias of
    it, ``f = bpcourse.network.forward`` and ``from bpcourse.network import forward as f``.
    """
    if name not in definitions:
        return []
    targets = {id(obj): d for d in forbidden if (obj := resolve(d)) is not None}
    own = {n for n, (_, node) in definitions.items() if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    aliases = _aliases([t for t in trees if t is not None], own)
    _, node = definitions[name]
    found = []
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for a in node.names:
            if (a.asname or a.name) == name:
                full = f"{node.module}.{a.name}" if isinstance(node, ast.ImportFrom) else a.name
                obj = resolve(full)
                if obj is not None and id(obj) in targets:
                    found.append(targets[id(obj)])
        return found
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Name, ast.Attribute)):
            d = _dotted(sub, aliases)
            obj = resolve(d) if d else None
            if obj is not None and id(obj) in targets and targets[id(obj)] not in found:
                found.append(targets[id(obj)])
    return found


# ------------------------------------------------------- what a person should look at

# Modules an exercise answer never needs, and that reach the grader's machinery: the
# interpreter (sys, builtins, gc), other code's internals (inspect, types, importlib),
# threads and processes, files, the kernel.
RISKY_MODULES = frozenset({
    "sys", "builtins", "gc", "importlib", "types", "inspect", "dis", "marshal", "pickle", "copyreg",
    "ctypes", "threading", "_thread", "concurrent", "multiprocessing", "subprocess", "signal", "atexit",
    "asyncio", "os", "pathlib", "glob", "shutil", "io", "tempfile", "mmap", "fcntl", "socket", "zmq",
    "IPython", "ipykernel", "jupyter_client", "runpy", "code", "codeop", "trace", "weakref",
})
RISKY_CALLS = frozenset({"exec", "eval", "compile", "__import__", "open", "globals", "vars", "getattr",
                         "setattr", "delattr", "breakpoint", "get_ipython"})
BENIGN_MAGICS = frozenset({"time", "timeit", "matplotlib", "precision"})
RISKY_STRINGS = ("../", "solutions", "_bpcourse", "harness", "spec_", "status.json", "kernel.pid")


def _imported_modules(trees):
    """Dotted module names the cells import (``from a import b`` counts a.b: b may be a module)."""
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return found


def _benign_magic(node):
    """``get_ipython().run_line_magic('timeit', ...)``: what IPython makes of ``%timeit``."""
    parent = getattr(node, "_parent", None)
    call = getattr(parent, "_parent", None)
    return (isinstance(parent, ast.Attribute) and parent.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)
            and call.args[0].value in BENIGN_MAGICS)


def review_flags(trees, allowed_trees=()):
    """What in the code cells ``trees`` a person should look at before trusting the grade: the
    ways around the grader's checks (the interpreter's internals, other code's insides, files,
    threads, the kernel). An answer computed with numpy uses none of them.

    ``allowed_trees``: the exercise's own cells; what they import is not flagged.
    Returns a sorted list of short phrases ("imports sys", "calls exec", ...).
    """
    trees = [t for t in trees if t is not None]
    allowed = _imported_modules([t for t in allowed_trees if t is not None])
    flags = set()
    for tree in trees:
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                child._parent = node
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or "."])
                for name in names:
                    top = name.split(".")[0]
                    if top in RISKY_MODULES:
                        flags.add(f"imports {top}")
                    elif top == "bpcourse" and isinstance(node, ast.Import) and name not in allowed | {"bpcourse"}:
                        flags.add(f"imports {name}, which the exercise does not")
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bpcourse":
                    for a in node.names:
                        full = f"{node.module}.{a.name}"
                        if full not in allowed and node.module not in allowed - {"bpcourse"}:
                            flags.add(f"imports {full}, which the exercise does not")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RISKY_CALLS:
                if not (node.func.id == "get_ipython" and _benign_magic(node)):
                    flags.add(f"calls {node.func.id}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and node.attr not in ("__name__", "__doc__"):
                flags.add(f"reads the attribute {node.attr}")
            elif isinstance(node, ast.Name) and node.id.startswith("__") and node.id not in ("__name__", "__doc__"):
                flags.add(f"uses the name {node.id}")
            elif isinstance(node, ast.Name) and node.id in ("_ih", "_oh", "_dh"):
                flags.add(f"uses IPython's history {node.id}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                for s in RISKY_STRINGS:
                    if s in node.value:
                        flags.add(f"has the text {s!r}")
            elif isinstance(node, ast.Attribute) and node.attr in ("get_check", "mistakes"):
                flags.add(f"reads the checks' {node.attr}")
    return sorted(flags)
