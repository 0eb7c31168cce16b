"""The `aod` CLI in-process through its real entry point (`domain.cli.main`: the same error
mapping as the installed command), plus `aod demo` as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from domain import demo_data
from domain.cli import main
from tests.factories import uscc

ADMIN_PW = "cli-admin-password-1"
STAFF_PW = "cli-staff-password-1"


@pytest.fixture
def aod(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("AOD_SESSION_DIR", str(tmp_path / "sessions"))
    monkeypatch.setenv("AOD_HOME", str(tmp_path / "home"))
    for var in ("AOD_TOKEN", "AOD_PASSWORD", "AOD_ADMIN_PASSWORD", "AOD_NEW_PASSWORD"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        out, err = capsys.readouterr()
        return exit_info.value.code, out, err

    run.home = tmp_path / "home"
    run.tmp = tmp_path
    return run


def ok(result):
    code, out, err = result
    assert code == 0, err
    return out


def refused(result, needle: str = ""):
    code, out, err = result
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aod: error: ") and needle in lines[0], err
    return lines[0]


def test_the_authority_and_an_operator_first_steps(aod):
    home = str(aod.home)
    assert "domain created" in ok(aod("--home", home, "init", "--password", ADMIN_PW))
    refused(aod("--home", home, "init", "--password", ADMIN_PW), "already holds a domain")
    refused(aod("whoami"), "not logged in")
    refused(aod("login", "--user", "admin", "--password", "wrong-password-0"), "authentication failed")
    assert "logged in as admin" in ok(aod("login", "--user", "admin", "--password", ADMIN_PW))
    assert json.loads(ok(aod("whoami", "--json")))["role"] == "authority"

    code = uscc("91330106MA2KCLXX1")
    ok(aod("operator", "add", "op-cli", "--name", "CLI Ltd", "--credit-code", code))
    refused(aod("operator", "add", "op-bad", "--name", "Bad", "--credit-code", "123"), "credit code")
    assert "op-cli" in ok(aod("operator", "list"))
    ok(aod("staff", "add", "clerk", "--name", "Clerk", "--role", "provider", "--org", "zj-gongan",
           "--password", STAFF_PW))
    ok(aod("staff", "add", "carol", "--name", "Carol", "--role", "operator_staff", "--org", "op-cli",
           "--password", STAFF_PW))
    today = date.today()
    out = ok(aod("staff", "comply", "carol", "--realname-verified", str(today), "--method", "in person"))
    assert "cannot act yet" in out
    out = ok(aod("staff", "comply", "carol", "--nda-signed", str(today), "--nda-expires",
                 str(today + timedelta(days=365)), "--training-passed", str(today)))
    assert "may act" in out
    refused(aod("staff", "comply", "carol", "--nda-signed", "yesterday"), "YYYY-MM-DD")

    data = demo_data.generate(people=120, firms=20)
    files = demo_data.write_files(data, aod.tmp / "input")
    ok(aod("logout"))
    ok(aod("login", "--user", "clerk", "--password", STAFF_PW))
    out = ok(aod("dataset", "ingest", str(files["population"]), "--name", "population", "--title", "人口",
                 "--provider", "zj-gongan", "--open", "restricted", "--frequency", "daily"))
    assert "confirm with" in out
    refused(aod("dataset", "confirm", "population", "--set", "remark"), "column=class")
    out = ok(aod("dataset", "confirm", "population", "--set", "remark=sensitive", "--reason", "free text",
                 "--privacy-unit", "id_number"))
    assert "privacy unit id_number" in out
    shown = json.loads(ok(aod("dataset", "show", "population", "--json")))
    assert shown["status"] == "active" and shown["rows"] == 120
    refused(aod("grant", "create", "--operator", "op-cli", "--scenario", "s", "--dataset", "population:district",
                "--emergency-plan", "EP", "--starts", str(today), "--expires", str(today + timedelta(days=300))),
            "may not grant.manage")

    admin_token = ok(aod("login", "--user", "admin", "--password", ADMIN_PW, "--print-token")).strip()
    ok(aod("login", "--user", "admin", "--password", ADMIN_PW))
    refused(aod("grant", "create", "--operator", "op-cli", "--scenario", "s", "--dataset", "population:district",
                "--emergency-plan", "EP", "--starts", str(today), "--expires", str(today + timedelta(days=1200))),
            "three years")
    refused(aod("grant", "create", "--operator", "op-cli", "--scenario", "s", "--dataset", "population:*",
                "--emergency-plan", "EP", "--starts", str(today), "--expires", str(today + timedelta(days=30))),
            "minimum necessary")
    grant = json.loads(ok(aod("grant", "create", "--operator", "op-cli", "--scenario", "s", "--dataset",
                              "population:district,sex", "--emergency-plan", "EP-1", "--starts", str(today),
                              "--expires", str(today + timedelta(days=300)), "--json")))
    assert grant["status"] == "pending"
    assert "is active" in ok(aod("grant", "activate", grant["id"], "--reason", "approved"))
    assert "is suspended" in ok(aod("grant", "suspend", grant["id"], "--reason", "incident"))
    refused(aod("grant", "activate", grant["id"], "--reason", "again"), "only a pending grant")
    listed = json.loads(ok(aod("grant", "list", "--json")))
    assert [g["status"] for g in listed] == ["suspended"]

    ok(aod("login", "--user", "carol", "--password", STAFF_PW))
    assert grant["id"] in ok(aod("grant", "list"))
    sql = "SELECT district, count(*) AS n FROM population GROUP BY district"
    refused(aod("query", "--grant", grant["id"], sql), "suspended")
    ok(aod("grant", "resume", grant["id"], "--reason", "closed", "--token", admin_token))
    result = json.loads(ok(aod("query", "--grant", grant["id"], sql, "--json")))
    assert result["k"] == 10 and all(set(r) == {"district", "n"} and r["n"] >= 10 for r in result["rows"])
    assert "suppressed below k=10" in ok(aod("query", "--grant", grant["id"], sql))
    secret = data.population.column("id_number")[0].as_py()
    line = refused(aod("query", "--grant", grant["id"], f"SELECT count(*) FROM population WHERE id_number = '{secret}'"),
                   "could not be resolved")  # not in this grant
    assert secret not in line
    refused(aod("staff", "list"), "may not principal.manage")
    assert json.loads(ok(aod("audit", "verify", "--json")))["ok"] is True


def test_commands_need_a_domain_home(aod, monkeypatch):
    monkeypatch.delenv("AOD_HOME")
    refused(aod("whoami"), "no domain home")
    refused(aod("--home", str(aod.tmp / "nowhere"), "whoami"), "not a domain home")


def test_init_refuses_a_short_password_and_leaves_nothing(aod):
    refused(aod("--home", str(aod.home), "init", "--password", "short"), "at least")
    assert not (aod.home / "control.db").exists()


def test_the_demo_runs_on_a_small_population_replaces_its_own_home_and_refuses_any_other(tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    home = tmp_path / "demo"
    cmd = [sys.executable, "-m", "domain", "demo", "--home", str(home), "--people", "1000"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "NOT REFUSED" not in out and "demo finished" in out and "verification" in out
    assert "refused because" in out and "suppressed" in out
    admin_before = (home / "keys" / "master.key").read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "replacing the earlier demo home" in again.stdout and "demo finished" in again.stdout
    assert (home / "keys" / "master.key").read_bytes() != admin_before  # a new domain, not the old one
    other = tmp_path / "not-a-demo"
    other.mkdir()
    (other / "notes.txt").write_text("someone's file\n")
    refused = subprocess.run([*cmd[:4], "--home", str(other), "--people", "1000"], capture_output=True,
                             text=True, env=env, timeout=60)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and (other / "notes.txt").exists()


def test_a_usage_error_is_a_usage_error_not_an_internal_error(aod):
    code, out, err = aod("grant", "create", "--no-such-option")
    assert code == 2 and "internal error" not in err and "no-such-option" in err


def test_logout_after_the_token_died_still_forgets_the_session(aod):
    ok(aod("--home", str(aod.home), "init", "--password", ADMIN_PW))
    token = ok(aod("login", "--user", "admin", "--password", ADMIN_PW, "--print-token")).strip()
    ok(aod("login", "--user", "admin", "--password", ADMIN_PW))
    ok(aod("logout"))
    refused(aod("whoami"), "not logged in")
    ok(aod("staff", "list", "--token", token))  # logout revoked only the session's token
    ok(aod("logout", "--token", token))
    refused(aod("whoami", "--token", token), "authentication failed")
    assert "already expired or been revoked" in ok(aod("logout", "--token", token))
