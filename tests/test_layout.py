"""The layout stays one room per concern: no import cycle (imports inside functions count; only those under
`if TYPE_CHECKING:` do not), no two folders importing each other, no module over 300 lines."""

from __future__ import annotations

import ast

from import_graph import ROOT, cycles, import_graph, long_modules, module_files, room_arrows, two_way_rooms


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_two_folders_import_each_other() -> None:
    assert two_way_rooms(import_graph(), module_files()) == []


def test_no_module_over_300_lines() -> None:
    assert long_modules(300) == {}


def test_rag_reaches_ui_only_to_start_it() -> None:
    """rag never imports ui (rag/launch.py finds ui/app.py by its spec); ingest never imports ui."""
    arrows = room_arrows(import_graph(), module_files())
    assert not {(a, b) for a, b in arrows if b == "ui"}


def test_core_imports_no_other_room() -> None:
    arrows = room_arrows(import_graph(), module_files())
    assert not {(a, b) for a, b in arrows if a == "rag.core"}


def test_the_graph_sees_imports_inside_functions_and_skips_type_checking(tmp_path) -> None:
    """The checker itself: a cycle through an import inside a function is found; one through TYPE_CHECKING is not."""
    for package in ("rag", "ingest", "ui"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "rag" / "a.py").write_text("def f():\n    from rag import b\n")
    (tmp_path / "rag" / "b.py").write_text("import rag.a\n")
    (tmp_path / "rag" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rag.d\n")
    (tmp_path / "rag" / "d.py").write_text("from rag.c import x\n")
    assert cycles(import_graph(tmp_path)) == [["rag.a", "rag.b"]]


def test_every_package_says_what_it_holds() -> None:
    for init in sorted(ROOT.glob("*/**/__init__.py")):
        if init.parts[len(ROOT.parts)] not in ("rag", "ingest", "ui"):
            continue
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init} has no docstring"
