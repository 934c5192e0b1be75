"""Stale set, resources and plans without running anything."""

from __future__ import annotations

from typing import ClassVar

import pytest

from benchmark.errors import ConfigError
from benchmark.methods import METHODS
from benchmark.methods.base import StylizationMethod
from benchmark.runner.dvcgraph import PipelineGraph, StageInfo
from benchmark.runner.plan import build_plan, stage_method, stage_resources


def _stage(name: str, upstream: tuple[str, ...] = (), deps: tuple[str, ...] = (), outs: tuple[str, ...] = (),
           cached: tuple[str, ...] | None = None, cacheable: bool = True) -> StageInfo:  # fmt: skip
    return StageInfo(name=name, group=name.split("@")[0], cmd="true", upstream=upstream, deps=deps, outs=outs,
                     cached_outs=outs if cached is None else cached, run_cacheable=cacheable)  # fmt: skip


def _graph() -> PipelineGraph:
    stages = [
        _stage("prepare", outs=("data/prepared", "data/splits/s.json"), cached=("data/prepared",), cacheable=False),
        _stage("finetune@m-r1", ("prepare",), deps=("data/prepared",), outs=("results/models/m/r1",)),
        _stage("finetune@m-spn-off-r1", ("prepare",), deps=("data/prepared",), outs=("results/models/m-spn-off/r1",)),
        _stage("evaluate@m", ("finetune@m-r1", "prepare"), deps=("data/splits/s.json",), outs=("results/metrics/m",),
               cached=(), cacheable=False),
        _stage("report", ("evaluate@m",), deps=("results/metrics",), outs=("reports",), cached=(), cacheable=False),
    ]  # fmt: skip
    return PipelineGraph({s.name: s for s in stages})


PARAMS = {"device": "cpu", "methods": ["m"], "ablation": {"methods": ["m-spn-off"]},
          "method_cfg": {"m-spn-off": {"base": "m"}}}  # fmt: skip


@pytest.fixture(autouse=True)
def fake_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    class AnyDevice(StylizationMethod):
        device_requirement: ClassVar[str] = "any"

        def stylize(self, images, names):
            return images

    monkeypatch.setitem(METHODS._classes, "m", AnyDevice)


def test_stale_set_is_transitive_and_topological() -> None:
    graph = _graph()
    assert graph.stale({"finetune@m-r1"}) == ["finetune@m-r1", "evaluate@m", "report"]
    assert graph.stale({"prepare"}) == graph.order
    assert graph.stale(set()) == []


def test_stage_method_prefers_the_longest_entry() -> None:
    graph = _graph()
    assert stage_method(graph.stages["finetune@m-spn-off-r1"], PARAMS) == "m-spn-off"
    assert stage_method(graph.stages["finetune@m-r1"], PARAMS) == "m"
    assert stage_method(graph.stages["report"], PARAMS) is None


def test_resources_follow_the_profile_device_and_cpu_stages() -> None:
    graph = _graph()
    cpu = {name: stage_resources(info, PARAMS, gpus_available=True).gpus for name, info in graph.stages.items()}
    assert set(cpu.values()) == {0}
    cuda = {**PARAMS, "device": "cuda", "runner": {"mem_gb": {"default": 16, "finetune": 40}}}
    got = {name: stage_resources(info, cuda, gpus_available=False) for name, info in graph.stages.items()}
    assert {n: r.gpus for n, r in got.items()} == {"prepare": 1, "finetune@m-r1": 1, "finetune@m-spn-off-r1": 1,
                                                   "evaluate@m": 1, "report": 0}  # fmt: skip
    assert got["finetune@m-r1"].mem_gb == 40 and got["report"].mem_gb == 16
    auto = {**PARAMS, "device": "auto"}
    assert stage_resources(graph.stages["finetune@m-r1"], auto, gpus_available=True).gpus == 1
    assert stage_resources(graph.stages["finetune@m-r1"], auto, gpus_available=False).gpus == 0
    never = {**cuda, "runner": {"gpu": "never"}}
    assert stage_resources(graph.stages["finetune@m-r1"], never, gpus_available=True).gpus == 0


def test_a_cuda_only_method_gets_a_gpu_on_a_cpu_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    class CudaOnly(StylizationMethod):
        device_requirement: ClassVar[str] = "cuda"

        def stylize(self, images, names):
            return images

    monkeypatch.setitem(METHODS._classes, "m", CudaOnly)
    graph = _graph()
    assert stage_resources(graph.stages["finetune@m-spn-off-r1"], PARAMS, gpus_available=False).gpus == 1  # via base
    assert stage_resources(graph.stages["report"], PARAMS, gpus_available=True).gpus == 0


def test_plan_marks_what_a_worker_without_shared_storage_can_run() -> None:
    graph = _graph()
    plan = {s.name: s for s in build_plan(graph, graph.stale({"finetune@m-r1"}), PARAMS, gpus_available=False)}
    assert plan["finetune@m-r1"].upstream == ()  # prepare is up to date
    assert plan["finetune@m-r1"].remote_ok  # reads only prepare's cached output
    assert not plan["evaluate@m"].remote_ok  # reads a cache: false output and has one
    assert plan["report"].upstream == ("evaluate@m",)


def test_bad_runner_section_is_a_named_error() -> None:
    graph = _graph()
    with pytest.raises(ConfigError, match="unknown keys"):
        stage_resources(graph.stages["report"], {**PARAMS, "runner": {"gpus": 1}}, gpus_available=False)
    with pytest.raises(ConfigError, match="auto, always or never"):
        stage_resources(graph.stages["report"], {**PARAMS, "runner": {"gpu": "yes"}}, gpus_available=False)
