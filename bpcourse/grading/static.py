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
    it, ``f = bpcourse.network.forward`` and ``from bpcourse.network import forward as f``,
    also from inside the notebook's own functions and classes that ``name`` calls.
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
    # the graded definition and every function or class of the notebook it names, and theirs
    todo, seen = [node], {name}
    while todo:
        for sub in ast.walk(todo.pop()):
            if isinstance(sub, ast.Name) and sub.id not in seen and sub.id in definitions:
                helper = definitions[sub.id][1]
                if isinstance(helper, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    seen.add(sub.id)
                    todo.append(helper)
            if isinstance(sub, (ast.Name, ast.Attribute)):
                d = _dotted(sub, aliases)
                obj = resolve(d) if d else None
                if obj is not None and id(obj) in targets and targets[id(obj)] not in found:
                    found.append(targets[id(obj)])
    return found


# ------------------------------------------------------- what a person should look at

# What an answer may import: numpy and the standard library's harmless corners. Anything else
# (sys, os, inspect, importlib, threading, a file reader like nbformat, a helper module) is
# named for review; bpcourse itself only as far as the exercise's own cells import it.
SAFE_MODULES = frozenset({
    "numpy", "math", "cmath", "matplotlib", "time", "timeit", "itertools", "functools", "collections",
    "random", "statistics", "warnings", "typing", "dataclasses", "numbers", "fractions", "decimal",
    "string", "textwrap", "pprint", "copy", "operator", "bisect", "heapq", "enum", "abc", "re",
    "datetime", "tqdm", "ipywidgets", "IPython.display",
})
UNSAFE_SUBMODULES = ("numpy.ctypeslib", "numpy.lib.format", "matplotlib.cbook")
# names that reach the interpreter, other code's insides, files or processes: called bare...
RISKY_BUILTINS = frozenset({"exec", "eval", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
                            "delattr", "breakpoint", "get_ipython"})
# ...or read from anything (``matplotlib.os`` is the os module too; ``np.load`` reads a file)
RISKY_ATTRIBUTES = frozenset({
    "exec", "eval", "import_module", "reload", "getsource", "getfile", "setprofile", "settrace", "system",
    "popen", "mkfifo", "listdir", "scandir", "unlink", "rmtree", "chmod", "fromfile", "tofile", "loadtxt",
    "genfromtxt", "memmap", "load", "save", "savez", "savetxt", "os", "sys", "builtins", "importlib",
    "inspect", "subprocess", "shutil", "glob", "pathlib", "ctypes", "threading", "gc", "signal", "socket",
    "nbformat", "pickle", "marshal", "modules", "CHECKS", "get_check", "mistakes", "SOLUTIONS", "EXERCISES",
    "grading", "authoring",
    # the kernel's shell (what runs the grader's cells) and its input rewriting
    "get_ipython", "input_transformers_post", "input_transformers_cleanup", "ast_transformers", "events",
    "user_ns", "user_global_ns", "run_cell", "run_code",
    # attribute access by a string, where the name read is not in the code
    "attrgetter", "methodcaller", "get_field", "Formatter",
    # file readers and writers reached through a module a notebook may import
    "cbook", "to_filehandle", "open_file_cm", "fromregex", "savez_compressed",
})
SHADOWED_BUILTINS = frozenset({"exec", "compile", "open", "eval", "globals", "vars", "getattr", "setattr",
                               "type", "isinstance", "callable", "__import__", "__builtins__"})
BENIGN_MAGICS = frozenset({"time", "timeit", "matplotlib", "precision", "config", "who", "whos", "pinfo",
                           "pinfo2", "load_ext", "autoreload", "prun", "lprun", "xmode", "pdoc", "pdef"})
# the dunders that open other code's insides; ``__init__``, ``__len__``, ``__version__`` do not
RISKY_DUNDERS = frozenset({
    "__code__", "__globals__", "__closure__", "__builtins__", "__dict__", "__class__", "__bases__", "__base__",
    "__subclasses__", "__mro__", "__wrapped__", "__func__", "__self__", "__import__", "__loader__", "__spec__",
    "__file__", "__path__", "__defaults__", "__kwdefaults__", "__getattribute__", "__setattr__", "__reduce__",
    "__reduce_ex__", "__traceback__", "__frame__", "f_globals", "f_locals", "f_back", "gi_frame", "tb_frame",
})
RISKY_STRINGS = ("../", "/io", "solutions", "_bpcourse", "harness", "spec_", "status.json", "kernel.pid",
                 ".npz", "ipynb", "bpcourse",
                 "__")      # a dunder as text: read with getattr, attrgetter or a format string


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


def _safe_module(name):
    return not name.startswith(UNSAFE_SUBMODULES) and any(
        name == m or name.startswith(m + ".") for m in SAFE_MODULES)


def _fine_package_name(module, attr):
    """May an answer use ``module.attr`` (module: a bpcourse module the exercise imports)? Only
    the checks (``selfcheck.check``) and the module's own public functions and classes, never a
    module it imported (``selfcheck.importlib``) or the checks' insides (``selfcheck.CHECKS``)."""
    import types as _types
    if attr.startswith("_"):
        return False
    if module == "bpcourse.selfcheck":
        return attr.startswith("check")
    obj = getattr(resolve(module), attr, None)
    return (callable(obj) and not isinstance(obj, _types.ModuleType)
            and getattr(obj, "__module__", "").startswith("bpcourse"))


def _string_value(node):
    """The text of a string expression made of constants (``"harn" + "ess.py"``, an f-string's
    fixed parts), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left, right = _string_value(node.left), _string_value(node.right)
        return None if left is None and right is None else (left or "") + (right or "")
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        parts = [_string_value(a) for a in (node.args[0].elts if node.args and isinstance(
            node.args[0], (ast.List, ast.Tuple)) else [])]
        return "".join(p or "" for p in parts) or None
    return None


def _magic(node, parents):
    """For ``get_ipython`` in ``get_ipython().run_line_magic('timeit', ...)`` (what IPython makes
    of ``%timeit``): ('%timeit', benign?); for ``!ls`` ('!', False); else (None, False)."""
    call = parents.get(node)
    attr = parents.get(call)
    outer = parents.get(attr)
    if not isinstance(attr, ast.Attribute):
        return None, False
    if attr.attr in ("system", "getoutput"):
        return "!", False
    if (attr.attr in ("run_line_magic", "run_cell_magic") and isinstance(outer, ast.Call) and outer.args
            and isinstance(outer.args[0], ast.Constant) and isinstance(outer.args[0].value, str)):
        name = outer.args[0].value
        return f"%{name}", name in BENIGN_MAGICS
    return None, False


def review_flags(trees, allowed_trees=()):
    """What in the code cells ``trees`` a person should look at before trusting the grade: the
    ways around the grader's checks (the interpreter's internals, other code's insides, files,
    threads, the kernel, the checks' own answers). An answer computed with numpy uses none of them.

    ``allowed_trees``: the exercise's own cells; the parts of bpcourse they import are allowed.
    Returns a sorted list of short phrases ("imports sys", "reads selfcheck.importlib", ...).
    """
    trees = [t for t in trees if t is not None]
    allowed = _imported_modules([t for t in allowed_trees if t is not None])
    package = {n: d for n, d in _aliases(trees, ()).items() if resolve(d) is not None
               and type(resolve(d)).__name__ == "module"}       # names bound to bpcourse modules
    parents = {child: node for tree in trees for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    imported = {(a.asname or a.name).split(".")[0] for tree in trees for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
    flags = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "bpcourse":
                        if a.name not in allowed | {"bpcourse"}:
                            flags.add(f"imports {a.name}, which the exercise does not")
                    elif not _safe_module(a.name):
                        flags.add(f"imports {a.name}")
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    flags.add("imports from a relative module")
                elif module.split(".")[0] == "bpcourse":
                    for a in node.names:
                        full = f"{module}.{a.name}"
                        if full in allowed and type(resolve(full)).__name__ == "module":
                            continue                          # from bpcourse import network
                        if module not in allowed or not _fine_package_name(module, a.name):
                            flags.add(f"imports {full}, which the exercise does not")
                elif not _safe_module(module):
                    flags.add(f"imports {module}")
            elif isinstance(node, ast.Attribute):
                base = package.get(node.value.id) if isinstance(node.value, ast.Name) else None
                if base and not _fine_package_name(base, node.attr):
                    flags.add(f"reads {node.value.id}.{node.attr}, which the exercise does not use")
                elif node.attr in RISKY_DUNDERS:
                    flags.add(f"reads the attribute {node.attr}")
                elif (node.attr.startswith("_") and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                      and node.value.id in imported):            # a module's private parts (np._core), not self._w
                    flags.add(f"reads the attribute {node.attr}")
                elif (node.attr in RISKY_ATTRIBUTES or node.attr.startswith("co_")) and not base:
                    flags.add(f"reads the attribute {node.attr}")     # co_*: a code object's insides
            elif isinstance(node, ast.Name):
                magic, benign = _magic(node, parents) if node.id == "get_ipython" else (None, False)
                if magic == "!":
                    flags.add("runs a shell command (!)")
                elif magic and not benign:
                    flags.add(f"runs the magic {magic}")
                elif node.id in RISKY_BUILTINS and isinstance(node.ctx, ast.Load) and not magic and node.id not in package:
                    flags.add(f"uses {node.id}")
                elif node.id in RISKY_DUNDERS:
                    flags.add(f"uses the name {node.id}")
                elif node.id in ("_ih", "_oh", "_dh", "In", "Out"):
                    flags.add(f"uses IPython's history {node.id}")
                if node.id in SHADOWED_BUILTINS and isinstance(node.ctx, ast.Store):
                    flags.add(f"redefines the built-in {node.id}")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in SHADOWED_BUILTINS:
                flags.add(f"redefines the built-in {node.name}")
            elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("co_"):
                flags.add(f"passes {node.arg}= (a code object's insides)")   # code.replace(co_name=...)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Name)
                  and node.func.func.id == "type"):
                flags.add("calls type(...)(...), which can make a function from another's code")
            text = _string_value(node) if isinstance(node, (ast.Constant, ast.BinOp, ast.JoinedStr, ast.Call)) else None
            if text and not isinstance(parents.get(node), ast.BinOp):     # the whole expression, once
                for risky in RISKY_STRINGS:
                    if risky in text and not (risky == "__" and text.strip() == "__main__"):
                        flags.add(f"has the text {risky!r}")
    return sorted(flags)
