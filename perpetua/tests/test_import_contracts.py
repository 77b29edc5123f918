"""The `no_import_cycles` contract of `make lint` (scripts/import_contracts.py) finds
cycles across root packages, which import-linter's own contracts cannot see."""

from __future__ import annotations

import grimp

from scripts.import_contracts import import_cycles


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported)
    return graph


def test_a_cycle_across_two_apps_is_found():
    graph = _graph(
        ("tasks.services", "recovery.services"),
        ("recovery.services", "accounts.services"),
        ("recovery.services", "tasks.services"),
        ("tasks.views", "tasks.services"),
    )
    assert import_cycles(graph) == [["recovery.services", "tasks.services", "recovery.services"]]


def test_a_one_way_graph_has_no_cycle():
    graph = _graph(("tasks.services", "recovery.services"), ("recovery.services", "accounts.services"))
    assert import_cycles(graph) == []


def test_each_cycle_is_reported_once_as_a_shortest_loop():
    graph = _graph(("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.y", "a.x"), ("b.p", "b.q"), ("b.q", "b.p"))
    assert import_cycles(graph) == [["a.x", "a.y", "a.x"], ["b.p", "b.q", "b.p"]]
