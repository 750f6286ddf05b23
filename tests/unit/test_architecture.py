"""The import graph stays untied: read with `ast` from every module of the package (nothing is
imported), module-level and function-level imports alike, relative ones resolved.

- no import cycle between signstream modules, nor between its parts (signstream.extract,
  signstream.triton, signstream.cli, ...: a part that imports another is never imported back by it);
- the domain does not import grpc (`grpc`, `grpc_health`, `grpc_reflection`): only the transport
  (signstream.gateway.*), the clients, the CLI, the bench and the generated signstream.v1 do.
  Triton's client (extract.remote, triton.repository) uses tritonclient, which is not grpc here;
- no module imports `tests` (what the benchmarks share with the tests lives in the package);
- the clients import nothing of the server's transport, CLI or Triton launcher, the bench does not
  import the CLI (the CLI imports the bench), and the browser viewer's transport (signstream.web) does
  not import the gRPC one (the gateway starts it).

An import names the module it names: `from a.b import c` is an edge to a.b.c when that is a module,
else to a.b. Importing a.b also runs a/__init__.py, but that implicit edge is not counted (a package's
__init__ re-exporting its modules would otherwise close a cycle with each of them).
"""
from __future__ import annotations

import ast
import tomllib
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "signstream"
GRPC_PACKAGES = {"grpc", "grpc_health", "grpc_reflection"}
NOT_DOMAIN = ("signstream.gateway", "signstream.clients", "signstream.cli", "signstream.bench", "signstream.v1")
# Forbidden imports by importer: (importer prefix, imported prefix).
FORBIDDEN = (
    ("signstream.clients", "signstream.gateway"),
    ("signstream.clients", "signstream.cli"),
    ("signstream.clients", "signstream.triton"),
    ("signstream.bench", "signstream.cli"),
    ("signstream.web", "signstream.gateway"),      # the viewer's transport stands beside gRPC's, not on it
)
# Edges left out of the cycle checks, each with why; an entry that no longer exists fails below.
KNOWN_EDGES: dict[tuple[str, str], str] = {}

Graph = dict[str, dict[str, int]]      # module -> {imported module: first line}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def package_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by its dotted name, from pyproject's package-dir."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    folders = config["tool"]["setuptools"]["package-dir"]
    modules = {}
    for package, folder in folders.items():
        base = root / folder
        nested = [root / f for p, f in folders.items() if p != package and (root / f).is_relative_to(base)]
        for path in sorted(base.rglob("*.py")):
            if any(path.is_relative_to(n) for n in nested):
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[str, int, str | None]]:
    """(imported name, line, name imported from it or None) for every import anywhere in `source`;
    relative imports resolved against `module`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                base = parts[:len(parts) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found += [(target, node.lineno, alias.name) for alias in node.names]
    return found


def resolve(name: str, known: set[str]) -> str | None:
    """The module of `known` that importing `name` imports: itself, else its longest known prefix."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(sources: dict[str, tuple[str, bool]]) -> Graph:
    """{module: (source, is_package)} -> edges between those modules."""
    known = set(sources)
    graph: Graph = {}
    for module, (source, is_package) in sources.items():
        edges: dict[str, int] = {}
        for target, line, name in imports_of(source, module, is_package):
            if not within(target, PACKAGE):
                continue
            full = f"{target}.{name}" if name and name != "*" else target
            hit = full if full in known else resolve(target, known)
            if hit and hit != module:
                edges.setdefault(hit, line)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, dict[str, int] | set[str]]) -> list[list[str]]:
    """One shortest cycle, as a path [a, b, ..., a], per strongly connected group of nodes."""
    nodes = set(graph) | {w for edges in graph.values() for w in edges}
    succ = {v: sorted(graph.get(v, ())) for v in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(nodes):                    # Tarjan, iterative
        if start in index:
            continue
        work = [(start, iter(succ[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    group = set()
                    while True:
                        x = stack.pop()
                        on_stack.discard(x)
                        group.add(x)
                        if x == v:
                            break
                    if len(group) > 1:
                        groups.append(group)
            elif w not in index:
                index[w] = low[w] = len(index)
                stack.append(w)
                on_stack.add(w)
                work.append((w, iter(succ[w])))
            elif w in on_stack:
                low[v] = min(low[v], index[w])
    cycles = []
    for group in groups:
        first = min(group)
        parent = {first: None}
        queue = deque([first])
        while queue:                               # shortest path from `first` back to itself
            v = queue.popleft()
            if first in succ[v]:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                cycles.append([*reversed(path), first])
                break
            for w in succ[v]:
                if w in group and w not in parent:
                    parent[w] = v
                    queue.append(w)
    return sorted(cycles)


def part_of(module: str) -> str:
    """signstream.extract.remote -> signstream.extract; top-level modules are their own part."""
    return ".".join(module.split(".")[:2])


def part_graph(graph: Graph) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for module, edges in graph.items():
        for target in edges:
            if part_of(module) != part_of(target):
                parts.setdefault(part_of(module), set()).add(part_of(target))
    return parts


def without_known(graph: Graph) -> Graph:
    return {m: {t: line for t, line in edges.items() if (m, t) not in KNOWN_EDGES} for m, edges in graph.items()}


def grpc_imports(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """`module:line imports grpc...` for each domain module that imports a grpc package."""
    found = []
    for module, (source, is_package) in sorted(sources.items()):
        if any(within(module, p) for p in NOT_DOMAIN):
            continue
        for target, line, name in imports_of(source, module, is_package):
            if target.split(".")[0] in GRPC_PACKAGES:
                found.append(f"{module}:{line} imports {target}")
    return found


def describe(cycle: list[str], graph: Graph) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" -> {cycle[-1]}"


# ---- the package ------------------------------------------------------------------------------------
def _sources() -> dict[str, tuple[str, bool]]:
    return {m: (p.read_text(encoding="utf-8"), p.name == "__init__.py") for m, p in package_modules().items()}


SOURCES = _sources()
GRAPH = import_graph(SOURCES)


def test_the_package_is_read():
    assert {"signstream.cli", "signstream.gateway.convert", "signstream.kernels.layout", "signstream.clients.client",
            "signstream.bench.run", "signstream.v1.signstream_pb2"} <= SOURCES.keys()
    assert "signstream.triton.parameters" in GRAPH["signstream.extract.onnx_model"]


def test_no_import_cycle_between_modules():
    graph = without_known(GRAPH)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(c, graph) for c in cycles)


def test_no_import_cycle_between_parts():
    graph = without_known(GRAPH)
    cycles = find_cycles(part_graph(graph))
    lines = []
    for cycle in cycles:
        for a, b in zip(cycle, cycle[1:]):
            edges = [f"{m}:{line} -> {t}" for m, targets in sorted(graph.items()) if part_of(m) == a
                     for t, line in targets.items() if part_of(t) == b]
            lines.append(f"{a} -> {b}: " + ", ".join(edges))
    assert not cycles, "parts that import each other: " + "; ".join(" -> ".join(c) for c in cycles) + "\n" + "\n".join(lines)


def test_known_exceptions_still_exist():
    stale = [f"{a} -> {b}" for a, b in KNOWN_EDGES if b not in GRAPH.get(a, {})]
    assert not stale, f"no longer imported, remove from KNOWN_EDGES: {stale}"


def test_the_domain_does_not_import_grpc():
    found = grpc_imports(SOURCES)
    assert not found, "grpc outside the transport:\n" + "\n".join(found)


def test_no_module_imports_the_tests():
    found = [f"{m}:{line} imports {target}" for m, (source, is_package) in sorted(SOURCES.items())
             for target, line, _ in imports_of(source, m, is_package) if within(target, "tests")]
    assert not found, "\n".join(found)


def test_clients_and_bench_stay_out_of_the_server():
    found = [f"{m}:{line} imports {t}" for m, edges in sorted(GRAPH.items()) for t, line in edges.items()
             for importer, imported in FORBIDDEN if within(m, importer) and within(t, imported)]
    assert not found, "\n".join(found)


# ---- the checks themselves fail when they should ----------------------------------------------------
def test_find_cycles_reports_each_cycle_as_a_path():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"a"}, "x": {"y"}, "y": {"z"}, "z": {"x", "y"}}) == [
        ["a", "b", "a"], ["x", "y", "z", "x"]]
    # the shortest way round: a -> e -> a, not a -> b -> c -> d -> a
    assert find_cycles({"a": {"b", "e"}, "b": {"c"}, "c": {"d"}, "d": {"a"}, "e": {"a"}}) == [["a", "e", "a"]]


def test_an_injected_cycle_is_found_through_relative_and_function_level_imports():
    sources = {
        "signstream.extract": ("", True),
        "signstream.extract.remote": ("from .base import VERSION\n", False),
        "signstream.extract.base": ("def f():\n    from signstream.triton import repository\n", False),
        "signstream.triton": ("", True),
        "signstream.triton.repository": ("import signstream.extract.remote as r\n", False),
    }
    graph = import_graph(sources)
    assert graph["signstream.extract.base"] == {"signstream.triton.repository": 2}
    assert find_cycles(graph) == [["signstream.extract.base", "signstream.triton.repository",
                                   "signstream.extract.remote", "signstream.extract.base"]]
    assert find_cycles(part_graph(graph)) == [["signstream.extract", "signstream.triton", "signstream.extract"]]
    assert find_cycles(import_graph({**sources, "signstream.triton.repository": ("import numpy\n", False)})) == []


def test_grpc_in_a_domain_module_is_found():
    sources = {"signstream.session": ("def f():\n    import grpc.aio\n", False),
               "signstream.gateway.app": ("import grpc\n", False),
               "signstream.extract.remote": ("import tritonclient.grpc.aio\nfrom grpc_health.v1 import health\n", False)}
    assert grpc_imports(sources) == ["signstream.extract.remote:2 imports grpc_health.v1",
                                     "signstream.session:2 imports grpc.aio"]


# The design notes live outside the repository: what the code keeps is said here, in its own words.
_CITATION = "DESIGN" + " §"          # split so that this file does not cite it either
_TEXT_SUFFIXES = {".py", ".md", ".proto", ".pbtxt", ".toml", ".cfg", ".txt", ".yaml", ".yml", ".js", ".html",
                  ".css"}
_SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", "results", ".pytest_cache"}


def _citations(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.suffix not in _TEXT_SUFFIXES and path.name != "Makefile" or not path.is_file():
            continue
        if _SKIPPED_DIRS.intersection(path.relative_to(root).parts):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if _CITATION in line:
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_nothing_cites_the_design_notes():
    assert _citations(ROOT) == [], "say what the code keeps in the project's own words"


def test_a_citation_is_found(tmp_path):
    (tmp_path / "x.py").write_text(f'"""Kept as in {_CITATION}4.1."""\n')
    (tmp_path / "Makefile").write_text("all:\n")
    assert [hit.split(":")[0] for hit in _citations(tmp_path)] == ["x.py"]
