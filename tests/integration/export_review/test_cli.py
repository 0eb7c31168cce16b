"""`aod export …` commands over the real service (the domain's provider replaced by one
returning our service and a principal chosen by --token)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from export_review import cli
from export_review.testing.planted import good_tables, write_metadata
from tests.integration.export_review.fixtures import ALICE, GRANT, RITA, ROB, SCENARIO

PEOPLE = {"alice": ALICE, "rita": RITA, "rob": ROB}


@pytest.fixture
def run(world):
    cli.configure(lambda home, token: (world.service, PEOPLE[token]))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli.app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output
    yield invoke
    cli.configure(None)


def test_submit_review_release_verify_and_trace(world, run):
    planted = good_tables(world.raw, world.products)[0]
    write_metadata(planted.product)
    out = json.loads(run("submit", str(planted.product.path), "--grant", GRANT.id, "--scenario", SCENARIO,
                         "--token", "alice", "--json"))
    export_id = out["id"]
    assert out["status"] == "under_review"
    assert export_id in run("list", "--token", "rita")
    assert "[passed] disclosure" in run("show", export_id, "--token", "rita")
    run("review", export_id, "--decision", "approve", "--token", "rita")
    assert "approved" in run("review", export_id, "--decision", "approve", "--token", "rob")
    released = json.loads(run("release", export_id, "--token", "rob", "--json"))
    assert "OK:" in run("verify", released["path"], "--token", "alice")
    assert export_id in run("verify", released["path"], "--trace", "--token", "alice")
    assert "stateDiagram-v2" in run("diagram")


def test_without_the_domain_commands_say_so(world):
    cli.configure(None)
    result = CliRunner().invoke(cli.app, ["list"])
    assert result.exit_code != 0 and isinstance(result.exception, cli.NotConfigured)
    assert "aod export" in result.exception.diagnostics()
