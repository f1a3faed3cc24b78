"""The package's folders follow the pipeline and no module imports from a later stage."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wintrain"

# pipeline order: a module may import from its own stage or an earlier one
STAGES = [
    ("wintrain", "wintrain.errors", "wintrain.kernels", "wintrain.registry", "wintrain.config"),
    ("wintrain.data", "wintrain.kernels.vectors"),
    ("wintrain.nn", "wintrain.kernels.layers", "wintrain.kernels.chars", "wintrain.kernels.sll",
     "wintrain.kernels.inference"),
    ("wintrain.checkpoint", "wintrain.runfolder"),
    ("wintrain.evaluation", "wintrain.plot", "wintrain.kernels.decode"),
    ("wintrain.training", "wintrain.kernels.optimizers"),
    ("wintrain.sweep", "wintrain.report"),
    ("wintrain.render", "wintrain.reports", "wintrain.cli", "wintrain.__main__"),
]


def stage_of(module: str) -> int:
    best, best_length = -1, -1
    for index, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best >= 0, module
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wintrain"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("wintrain"))
    return found


def test_no_module_imports_from_a_later_stage():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for imported in imports_of(path):
            if imported != "wintrain" and stage_of(imported) > stage_of(importer):
                violations.append(f"{importer} imports {imported}")
    assert violations == []


def test_no_module_imports_a_deep_learning_framework():
    frameworks = {"torch", "tensorflow", "jax", "keras", "flax", "mxnet", "paddle"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {name}" for name in names if name.split(".")[0] in frameworks]
    assert found == []
