"""The package's layering (ARCHITECTURE.md): no import cycles, and no layer imports upwards.

The import graph is read from the source with ``ast``, so that imports inside functions
count as much as those at the top of a module: a function-local import can hide a cycle
from Python, not from this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A module may import its own subpackage's modules and anything in a lower
# layer, never a higher layer, nor another subpackage of its own layer (vae and gan, say,
# know nothing of each other).
LAYERS: list[tuple[str, ...]] = [
    # what every part uses: the top-level modules
    ("tutorial_lib.validation", "tutorial_lib.device", "tutorial_lib.seeding",
     "tutorial_lib.budget", "tutorial_lib.conditioning", "tutorial_lib.plotting",
     "tutorial_lib.widgets", "tutorial_lib.checkpoints", "tutorial_lib.training",
     "tutorial_lib.runner", "tutorial_lib.results", "tutorial_lib.glue", "tutorial_lib"),
    ("tutorial_lib.data",),
    ("tutorial_lib.probability",),  # Part I
    ("tutorial_lib.vae", "tutorial_lib.gan", "tutorial_lib.metrics",
     "tutorial_lib.diffusion"),  # Parts II-IV, and diffusion
    ("tutorial_lib.hybrids",),  # built from the VAE's and the GAN's parts
    ("tutorial_lib.applications", "tutorial_lib.translation", "tutorial_lib.style"),  # Part V
    ("tutorial_lib.bench", "tutorial_lib.exercises"),
    ("tutorial_lib.commands",),  # the subcommands of python -m tutorial_lib
    ("tutorial_lib.cli",),  # finds the subcommands by name (importlib)
    ("tutorial_lib.__main__",),
]
ROOT = "tutorial_lib"  # the package itself: it matches no submodule


def module_files(src: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module under ``src``."""
    modules = {}
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph(src: Path) -> dict[str, set[str]]:
    """module -> the modules of the same tree it imports (anywhere in its body)."""
    modules = module_files(src)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: from .x import y
                    base = package[: len(package) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # "from pkg import sub" imports the submodule pkg.sub when there is one
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _is_own_package(importer: str, imported: str) -> bool:
    """A package's __init__ importing its own submodules (or a submodule its package) is
    how Python packages are made, not a cycle between concepts."""
    return imported.startswith(importer + ".") or importer.startswith(imported + ".")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), ignoring
    the edges between a package and its own submodules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if _is_own_package(v, w):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module: str, layers: list[tuple[str, ...]]) -> tuple[int, str]:
    """(layer index, the group it belongs to): the longest matching prefix wins."""
    best: tuple[int, str] | None = None
    for i, group in enumerate(layers):
        for prefix in group:
            if (module == prefix or (prefix != ROOT and module.startswith(prefix + "."))) and \
                    (best is None or len(prefix) > len(best[1])):
                best = (i, prefix)
    if best is None:
        raise KeyError(f"{module} is in no layer: add it to LAYERS (and ARCHITECTURE.md)")
    return best


def upward_imports(graph: dict[str, set[str]],
                   layers: list[tuple[str, ...]]) -> list[str]:
    """Every import of a higher layer, or of another subpackage of the same layer."""
    bad = []
    for importer, imported in sorted((a, b) for a, targets in graph.items() for b in targets):
        if _is_own_package(importer, imported):
            continue
        (li, gi), (lj, gj) = layer_of(importer, layers), layer_of(imported, layers)
        if lj > li or (lj == li and gi != gj and li > 0):
            bad.append(f"{importer} imports {imported} (layer {li} -> layer {lj})")
    return bad


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(import_graph(SRC)) == []


def test_no_layer_imports_a_higher_one() -> None:
    assert upward_imports(import_graph(SRC), LAYERS) == []


def test_every_module_belongs_to_a_layer() -> None:
    for module in import_graph(SRC):
        layer_of(module, LAYERS)  # raises KeyError naming the module


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "tutorial_lib" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_planted_cycle_is_found_even_through_a_function_local_import(
        tmp_path: Path) -> None:
    src = _plant(tmp_path, {
        "__init__.py": "",
        "gan/__init__.py": "from tutorial_lib.gan import train\n",
        "gan/train.py": "from tutorial_lib.gan.losses import loss\n",
        "gan/losses.py": "def loss():\n    from tutorial_lib.gan import train  # hidden\n",
        "vae/__init__.py": "",
    })
    assert cycles(import_graph(src)) == [["tutorial_lib.gan.losses", "tutorial_lib.gan.train"]]


def test_a_package_importing_its_own_submodules_is_not_a_cycle(tmp_path: Path) -> None:
    src = _plant(tmp_path, {
        "__init__.py": "",
        "gan/__init__.py": "from tutorial_lib.gan.train import train_gan\n",
        "gan/train.py": "from tutorial_lib.gan import losses\n",
        "gan/losses.py": "",
    })
    assert cycles(import_graph(src)) == []


def test_a_planted_upward_import_is_found(tmp_path: Path) -> None:
    src = _plant(tmp_path, {
        "__init__.py": "",
        "validation.py": "",
        "vae/__init__.py": "",
        "vae/models.py": "from tutorial_lib.validation import x\n",
        "gan/__init__.py": "",
        "gan/train.py": "def f():\n    import tutorial_lib.vae.models\n",
        "bench/__init__.py": "",
        "bench/gan.py": "from tutorial_lib.gan import train\n",
        "data/__init__.py": "from tutorial_lib.bench import gan\n",
    })
    assert upward_imports(import_graph(src), LAYERS) == [
        "tutorial_lib.data imports tutorial_lib.bench (layer 1 -> layer 6)",
        "tutorial_lib.data imports tutorial_lib.bench.gan (layer 1 -> layer 6)",
        "tutorial_lib.gan.train imports tutorial_lib.vae.models (layer 3 -> layer 3)",
    ]


def test_a_module_outside_every_layer_is_named() -> None:
    with pytest.raises(KeyError, match="tutorial_lib.newthing is in no layer"):
        layer_of("tutorial_lib.newthing", LAYERS)
