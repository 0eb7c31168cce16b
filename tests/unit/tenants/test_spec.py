from __future__ import annotations

from pathlib import Path

import pytest

from tenants.errors import InvalidSpec
from tenants.spec import JobLimits, JobSpec, Limits, TenantLayout, TenantSpec, check_id


def _spec(**kw) -> TenantSpec:
    base = dict(tenant_id="acme", samples_dir=Path("/h/s"), workspace_dir=Path("/h/w"),
                gateway_dir=Path("/h/g"), jupyter_dir=Path("/h/j"))
    base.update(kw)
    return TenantSpec(**base)


@pytest.mark.parametrize("bad", ["", "Acme", "a/b", "../x", "a" * 49, "-a", "a b", "é", "a\n"])
def test_bad_ids_are_refused(bad):
    with pytest.raises(InvalidSpec):
        check_id(bad)


def test_good_id_passes():
    assert check_id("op-hz-1") == "op-hz-1"


def test_spec_needs_absolute_paths():
    with pytest.raises(InvalidSpec, match="absolute"):
        _spec(samples_dir=Path("relative"))


def test_spec_generates_a_token_and_round_trips_through_json():
    spec = _spec(limits=Limits(memory_mb=512, cpus=0.5, pids=64, tmp_mb=64))
    assert len(spec.jupyter_token) >= 32
    again = TenantSpec.from_json(spec.to_json())
    assert again == spec
    assert _spec().jupyter_token != spec.jupyter_token


@pytest.mark.parametrize("url", ["", "lab", "/lab", "/a/../", "/a b/"])
def test_bad_base_urls_are_refused(url):
    with pytest.raises(InvalidSpec):
        _spec(jupyter_base_url=url)


def test_damaged_stored_spec_is_a_typed_error():
    with pytest.raises(InvalidSpec, match="damaged"):
        TenantSpec.from_json('{"tenant_id": "acme"}')


@pytest.mark.parametrize("kw", [dict(memory_mb=10), dict(cpus=0), dict(pids=1), dict(tmp_mb=1)])
def test_limits_have_floors(kw):
    with pytest.raises(InvalidSpec):
        Limits(**kw)


def test_layout_places_everything_under_the_tenant_folder(tmp_path):
    layout = TenantLayout.for_home(tmp_path, "acme")
    spec = layout.spec()
    assert layout.root == tmp_path / "tenants" / "acme"
    for path in (spec.samples_dir, spec.workspace_dir, spec.gateway_dir, spec.jupyter_dir, layout.cipher_dir):
        assert path.parent == layout.root
    assert spec.gateway_socket.name == "gateway.sock"
    assert spec.jupyter_socket.name == "jupyter.sock"


def _job(**kw) -> JobSpec:
    base = dict(job_id="j1", tenant_id="acme", code_dir=Path("/c"), entrypoint="main.py",
                data_dir=Path("/d"), outputs_dir=Path("/o"))
    base.update(kw)
    return JobSpec(**base)


@pytest.mark.parametrize("entry", ["../x.py", "/abs.py", "a/../../x.py", "x.sh", ""])
def test_job_entrypoint_must_stay_inside_the_code(entry):
    with pytest.raises(InvalidSpec):
        _job(entrypoint=entry)


def test_job_params_must_be_json_and_bounded():
    assert _job(params={"k": 5}).params_json() == '{"k": 5}'
    with pytest.raises(InvalidSpec, match="JSON"):
        _job(params={"k": object()})
    with pytest.raises(InvalidSpec, match="exceed"):
        _job(params={"k": "x" * 70_000})


def test_job_limits_are_checked():
    with pytest.raises(InvalidSpec):
        JobLimits(timeout_s=0)
    with pytest.raises(InvalidSpec):
        JobLimits(max_log_bytes=10)
    assert JobLimits(memory_mb=256).as_limits().memory_mb == 256
