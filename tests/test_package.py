"""The house rules that keep the package easy to find one's way in: no import cycles, small
modules, every subpackage installed, a light `import videostyle`, a short README."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "videostyle"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, at module level or inside functions."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in modules else target)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def test_no_import_cycles():
    graph = import_graph()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for dep in graph[node]:
            assert dep not in path, "import cycle: " + " -> ".join(path[path.index(dep):] + [dep])
            if dep not in done:
                visit(dep, path + [dep])
        done.add(node)

    for module in graph:
        visit(module, [module])
    assert len(graph) > 40


def test_modules_stay_small():
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert max(sizes.values()) <= 400, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_every_subpackage_is_installed():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    installed = set(config["options"]["packages"].split())
    found = {module_name(p.parent) for p in PACKAGE.rglob("__init__.py")}
    assert found <= installed, found - installed


def test_import_videostyle_loads_neither_torch_nor_pyav():
    code = "import sys, videostyle; print(sorted(m for m in ('torch', 'av') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr


def test_the_network_and_training_load_without_pyav():
    """benchmarks/gpu.py measures them on machines where PyAV is missing (the GPU lender's)."""
    code = ("import sys, videostyle.network.stylize, videostyle.network.models, videostyle.training.train; "
            "print('av' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 350
