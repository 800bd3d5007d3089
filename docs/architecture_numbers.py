"""The numbers docs/architecture.md quotes about the code, computed from the code so they cannot drift.

    python docs/architecture_numbers.py          # print the table
    python docs/architecture_numbers.py --write  # put it into docs/architecture.md, between its markers

tests/test_docs.py fails when the table in docs/architecture.md differs from what this prints. Timings (the suite,
start-up) and the type checker's count are not here: they are measured by CI and bench/bench_startup.py, and quoted
with their machine in docs/benchmarks.md.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- numbers: begin (docs/architecture_numbers.py --write) -->", "<!-- numbers: end -->"
GRADIO_FILES = ("app.py", "app_config.py", "handlers.py", "teach_tab.py", "teach_handlers.py", "teach_text.py")
# a comparison against the name of a kind, a source or a state: the registry and the enums say these instead
KIND_WORDS = "image|images|hand_crop|landmarks|crop|npy|npy-frames|video|frames|signspace-sequence"
KIND_CHECK = re.compile(rf"""(==|!=)\s*["']({KIND_WORDS})["']|["']({KIND_WORDS})["']\s*(==|!=)""")
# the test doubles the redesign replaced with parameters (issue 26): none may come back
SPY_TARGETS = ("metrics_fn", "device_augmentation", "classify_file", "live_step", "HAND_MODEL_URL", "_download")


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def modules() -> dict[str, Path]:
    package = ROOT / "signspace"
    return {
        p.relative_to(package).with_suffix("").as_posix().replace("/", "."): p
        for p in sorted(package.glob("*/*.py"))
        if p.stem != "__init__"
    }


def imports_of(path: Path) -> set[str]:
    """The signspace modules ``path`` imports, inside functions too, not under ``if TYPE_CHECKING``."""
    found = set()

    def visit(node):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("signspace."):
            parts = node.module.split(".")[1:]
            found.update([".".join(parts)] if len(parts) == 2 else [f"{parts[0]}.{a.name}" for a in node.names])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def import_graph() -> dict[str, set[str]]:
    """Each signspace module and the signspace modules it imports."""
    found = modules()
    return {name: imports_of(path) & set(found) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every module that is on an import cycle, with one such cycle from it (``a -> b -> a``)."""

    def cycle_from(start, path, seen):
        for nxt in sorted(graph[start]):
            if nxt == path[0]:
                return [*path, nxt]
            if nxt not in seen:
                seen.add(nxt)
                if found := cycle_from(nxt, [*path, nxt], seen):
                    return found
        return None

    return [c for name in sorted(graph) if (c := cycle_from(name, [name], {name}))]


def numbers() -> list[tuple[str, str]]:
    code = python_files("signspace", "space", "train")
    kind_checks = [f"{p.relative_to(ROOT)}:{n}" for p in code for n, line in enumerate(p.read_text().splitlines(), 1)
                   if KIND_CHECK.search(line)]  # fmt: skip
    deciders = [p.relative_to(ROOT).as_posix() for p in code if re.search(r"^def for_\w+\(", p.read_text(), re.M)]
    found, graph = modules(), import_graph()
    layers = sorted({name.split(".")[0] for name in found})
    test_lines = [(p, n, line) for p in python_files("tests") for n, line in enumerate(p.read_text().splitlines(), 1)]
    spies = [(p, n) for p, n, line in test_lines if "setattr" in line and any(f'"{t}"' in line for t in SPY_TARGETS)]
    tested = {p.stem.removeprefix("test_") for p in python_files("tests/signspace") if p.stem.startswith("test_")}
    untested = sorted(name for name in found if name.split(".")[1] not in tested)
    gradio = ", ".join(f"`{name}` {len((ROOT / 'space' / name).read_text().splitlines())}" for name in GRADIO_FILES)
    return [
        ("lines of the Gradio files (`space/`)", gradio),
        ("`signspace` layers (folders) and modules", f"{len(layers)} ({', '.join(layers)}), {len(found)} modules"),
        ("model-kind string checks in `signspace/`, `space/`, `train/`", str(len(kind_checks))),
        ("where a model's kind is decided", f"{len(deciders)} (`{'`, `'.join(deciders)}`)"),
        ("import cycles among `signspace` modules", str(len(cycles(graph)))),
        ("tests patching a spy where a parameter would do (the six issue 26 named)", str(len(spies))),
        ("`signspace` modules with a test module of their own", f"{len(found) - len(untested)} of {len(found)}"
         + (f" (not: {', '.join(untested)})" if untested else "")),
    ]  # fmt: skip


def table() -> str:
    rows = ["| what | now |", "|---|---|", *(f"| {what} | {value} |" for what, value in numbers())]
    return "\n".join(rows)


def with_table(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


if __name__ == "__main__":
    if "--write" in sys.argv:
        DOC.write_text(with_table(DOC.read_text()))
    print(table())
