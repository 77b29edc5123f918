"""An import-linter contract type of ours: no import cycle between any two modules.

import-linter's own `acyclic_siblings` contract finds cycles between sibling packages
(e.g. `tasks.services` ↔ `tasks.selectors`), but the project's apps are separate root
packages without a common parent, so a cycle across apps (`tasks.services.tasks` →
`recovery.services` → `tasks.services.tasks`) is invisible to it. This contract looks
at the module graph grimp builds for every root package and fails on each strongly
connected group of modules, printing one shortest loop of each. Function-level
imports count: grimp reads every import statement.
"""

from __future__ import annotations

from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain.contract import Contract, ContractCheck


def import_cycles(graph: ImportGraph) -> list[list[str]]:
    """Each cycle as one shortest loop `[m, ..., m]`, one per strongly connected group."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):  # iterative Tarjan: no recursion limit to hit
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    loops = []
    for group in sorted(groups):
        start = group[0]
        members = set(group)
        candidates = [
            graph.find_shortest_chain(importer=successor, imported=start)
            for successor in sorted(graph.find_modules_directly_imported_by(start) & members)
        ]
        chain = min((c for c in candidates if c), key=len)
        loops.append([start, *chain])
    return loops


class NoImportCyclesContract(Contract):
    """Configuration: only `name` and `type = "no_import_cycles"`."""

    type_name = "no_import_cycles"

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        cycles = import_cycles(graph)
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles: list[Any] = check.metadata["cycles"]
        for loop in cycles:
            output.print_error(" -> ".join(loop))
            output.new_line()
