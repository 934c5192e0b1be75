"""The profile files: both load, and the ablation section is checked against the main matrix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmark.assets import REPO_ROOT
from benchmark.errors import ConfigError
from benchmark.params import ablation, base_method, load_params, method_cells, pipeline_methods


@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_profiles_load_and_ablation_variants_resolve(profile: str) -> None:
    params = load_params(REPO_ROOT / "profiles" / f"{profile}.yaml")
    abl = ablation(params)
    assert abl.methods and abl.split == "low_density"
    assert pipeline_methods(params)[: len(params["methods"])] == params["methods"]
    for variant in abl.methods:
        base = base_method(params, variant)
        assert base in params["methods"] and base != variant
        assert method_cells(params, variant) == (list(abl.references), ["low_density"])
        # YAML merge keys copy the whole base section: the variant differs only where it says so
        base_section, section = params["method_cfg"][base], params["method_cfg"][variant]
        changed = {k for k in section if k != "base" and section[k] != base_section.get(k)}
        assert len(changed) == 1, (variant, changed)
    assert method_cells(params, "osasis") == (params["references"], params["splits"])


def test_smoke_params_yaml_is_the_smoke_profile() -> None:
    assert (REPO_ROOT / "params.yaml").read_bytes() == (REPO_ROOT / "profiles" / "smoke.yaml").read_bytes()


def _write(tmp_path: Path, **ablation_section) -> Path:
    params = yaml.safe_load((REPO_ROOT / "profiles" / "smoke.yaml").read_text())
    params["ablation"].update(ablation_section)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"methods": ["osasis"]}, "repeats entries of methods"),
        ({"references": ["not-a-reference"]}, "unknown: ['not-a-reference']"),
        ({"split": "nowhere"}, "'nowhere' is not one of splits"),
        ({"methods": ["osasis-spn0.5"]}, "must not contain '.'"),
    ],
)
def test_bad_ablation_is_a_clear_error(tmp_path: Path, section: dict, message: str) -> None:
    path = _write(tmp_path, **section)
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_no_ablation_section_means_no_ablation(tmp_path: Path) -> None:
    params = yaml.safe_load((REPO_ROOT / "profiles" / "smoke.yaml").read_text())
    del params["ablation"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    loaded = load_params(path)
    assert ablation(loaded).methods == () and pipeline_methods(loaded) == loaded["methods"]
