"""The one place that touches DVC's Python internals: the stage graph of ``dvc.yaml`` and what is stale.

DVC has no public stage API (``dvc.api`` reads data, not pipelines), and ``Repo().index.graph`` is an
internal networkx graph whose edges point from a stage to its upstream stages. Internals drift between DVC
releases, so the rest of the runner sees only :class:`PipelineGraph` built here. Checked with DVC 3.67.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import chdir
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import ConfigError


@dataclass(frozen=True)
class StageInfo:
    """One stage of ``dvc.yaml`` as the runner needs it."""

    name: str  # DVC's address, e.g. ``finetune@osasis-aahq_1`` (what ``dvc repro -s`` takes)
    group: str  # the ``dvc.yaml`` key, e.g. ``finetune`` for every cell of the matrix
    cmd: str
    upstream: tuple[str, ...]  # stages whose outputs this stage reads
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    cached_outs: tuple[str, ...]  # outputs kept in the DVC cache (the rest are ``cache: false``)
    run_cacheable: bool  # DVC saves and restores this stage through its run-cache


@dataclass
class PipelineGraph:
    """Stages in a topological order (upstream first) with their edges."""

    stages: dict[str, StageInfo] = field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        return list(self.stages)

    def downstream(self) -> dict[str, set[str]]:
        children: dict[str, set[str]] = {name: set() for name in self.stages}
        for info in self.stages.values():
            for up in info.upstream:
                children[up].add(info.name)
        return children

    def descendants(self, names: Iterable[str]) -> set[str]:
        """``names`` and everything downstream of them."""
        children = self.downstream()
        seen: set[str] = set()
        todo = [n for n in names if n in self.stages]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(children[name])
        return seen

    def stale(self, changed: Iterable[str]) -> list[str]:
        """The changed stages plus all their descendants, in topological order (``dvc status`` is not transitive)."""
        stale = self.descendants(changed)
        return [name for name in self.order if name in stale]


def _run_cacheable(stage) -> bool:
    """Mirror of DVC's own rules (``dvc/stage/cache.py::_can_hash`` and ``Stage.run``): a run-cache entry is
    written only for a stage with a command, deps and outs, all local, no ``persist``, not ``always_changed``,
    and with no ``cache: false`` output other than metrics or plots."""
    if stage.always_changed or not (stage.cmd and stage.deps and stage.outs):
        return False
    if any(getattr(dep, "protocol", "local") != "local" for dep in stage.deps):
        return False
    for out in stage.outs:
        if out.protocol != "local" or out.persist or not out.is_in_repo:
            return False
        if not out.use_cache and not (out.is_metric or out.is_plot):
            return False
    return True


def load_graph(root: str | Path) -> PipelineGraph:
    """The stage graph of the repository at ``root``."""
    import networkx as nx
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        # stage addresses are relative to the working directory: read them from the root, as ``dvc`` runs there
        with chdir(root), Repo(str(root)) as repo:
            graph = repo.index.graph
            # edges point downstream -> upstream; reverse for an upstream-first order, ties broken by name
            order = list(nx.lexicographical_topological_sort(graph.reverse(copy=True), key=lambda s: s.addressing))
            stages: dict[str, StageInfo] = {}
            for stage in order:
                if not getattr(stage, "cmd", None):
                    continue  # .dvc files (data sources) are not runnable stages
                upstream = sorted({up.addressing for up in graph.successors(stage) if getattr(up, "cmd", None)})
                stages[stage.addressing] = StageInfo(
                    name=stage.addressing,
                    group=stage.addressing.split("@", 1)[0],
                    cmd=stage.cmd if isinstance(stage.cmd, str) else " && ".join(stage.cmd),
                    upstream=tuple(upstream),
                    deps=tuple(str(dep.def_path) for dep in stage.deps),
                    outs=tuple(str(out.def_path) for out in stage.outs),
                    cached_outs=tuple(str(out.def_path) for out in stage.outs if out.use_cache),
                    run_cacheable=_run_cacheable(stage),
                )
    except DvcException as exc:
        raise ConfigError(f"cannot read the DVC pipeline in {root}: {exc}") from exc
    return PipelineGraph(stages)


def changed_stages(root: str | Path) -> set[str]:
    """Stages ``dvc status`` reports as changed (not transitive; see :meth:`PipelineGraph.stale`)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with chdir(root), Repo(str(root)) as repo:
            status = repo.status()
    except DvcException as exc:
        raise ConfigError(f"dvc status failed in {root}: {exc}") from exc
    return set(status)


def default_remote_url(root: str | Path) -> str:
    """The URL of the repository's default DVC remote (``clone`` storage exchanges data through it)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            config = repo.config
            name = config["core"].get("remote")
            if not name:
                raise ConfigError(f"clone storage needs a default DVC remote in {root} "
                                  f"(dvc remote add --local --default NAME URL)")  # fmt: skip
            url = str(config["remote"][name]["url"])
    except DvcException as exc:
        raise ConfigError(f"cannot read the DVC config of {root}: {exc}") from exc
    if "://" not in url and not Path(url).is_absolute():
        url = str((Path(root) / ".dvc" / url).resolve())
    return url
