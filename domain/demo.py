"""`aod demo`: the whole flow on embedded defaults (no Docker, no cluster).

Builds a domain in a fresh home with synthetic Zhejiang public data from three agencies,
classifies and registers it, licenses an operator for one scenario, runs a cross-agency join on
raw data through the policy, shows raw-row attempts refused with their reasons, and shows the
audit trail and its verification. Every step goes through the same services as the CLI.

Where bubblewrap (and gocryptfs) are installed, a tenant step follows the exports: alice's
isolated tenant, used through the real SDK over its gateway socket (a desensitized sample, a
refused and an accepted query, a job on raw data with checked outputs), then terminated with
its key destroyed. Without them the step prints one line saying what to install.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from domain import demo_data

SCENARIO = "小微企业用工稳定性分析 (employment stability of small and micro enterprises)"
OPERATOR = "op-hz-insight"
PROVIDERS = {
    "population": ("zj-gongan", "人口基础信息 (population register)", "restricted", "daily"),
    "enterprise": ("zj-scjg", "企业登记信息 (enterprise register)", "unconditional", "daily"),
    "social_insurance": ("zj-rlsb", "社保缴费记录 (social insurance contributions)", "restricted", "monthly"),
}
PRIVACY_UNIT = {"population": "id_number", "enterprise": "credit_code", "social_insurance": "id_number"}
GRANT_COLUMNS = {
    "population": ("id_number", "sex", "birth_date", "district", "education"),
    "enterprise": ("credit_code", "industry", "district", "registered_capital_wan", "status"),
    "social_insurance": ("id_number", "credit_code", "period", "contribution_base"),
}
CROSS_AGENCY_SQL = """
SELECT e.industry,
       CASE WHEN date_diff('year', p.birth_date, DATE '2026-06-30') < 35 THEN 'under 35'
            WHEN date_diff('year', p.birth_date, DATE '2026-06-30') < 50 THEN '35-49'
            ELSE '50+' END AS age_band,
       count(DISTINCT s.id_number) AS workers,
       round(avg(s.contribution_base), 0) AS avg_contribution_base
FROM social_insurance s
JOIN population p ON s.id_number = p.id_number
JOIN enterprise e ON s.credit_code = e.credit_code
WHERE e.status = '存续'
GROUP BY 1, 2
ORDER BY 1, 2
"""
REFUSED_ATTEMPTS = [
    ("read raw rows", "SELECT id_number, sex, birth_date FROM population LIMIT 5"),
    ("look one person up", "SELECT count(*) FROM population WHERE id_number = '330106199001011234'"),
    ("leak an identifier through an aggregate", "SELECT district, max(id_number) FROM population GROUP BY district"),
    ("read a column the grant does not cover", "SELECT district, count(*) FROM population GROUP BY name, district"),
    ("read a file from disk", "SELECT * FROM read_csv('/etc/passwd')"),
]
SMALL_CELL_SQL = """
SELECT p.district, p.education, e.industry, count(DISTINCT s.id_number) AS workers
FROM social_insurance s JOIN population p ON s.id_number = p.id_number
JOIN enterprise e ON s.credit_code = e.credit_code
WHERE p.birth_date < DATE '1945-01-01'
GROUP BY 1, 2, 3
"""


@dataclass
class DemoRun:
    home: Path
    people: int
    console: Console = field(default_factory=Console)
    passwords: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def step(self, title: str, action: Callable[[], object]):
        self.console.rule(f"[bold]{title}")
        started = time.perf_counter()
        result = action()
        self.timings[title] = time.perf_counter() - started
        return result


DEMO_MARKER = ".aod-demo"  # a home made by the demo, which a later demo may replace


def run_demo(home: Path, people: int = 100_000, console: Console | None = None) -> DemoRun:
    run = DemoRun(home=Path(home), people=people, console=console or Console())
    domain = run.step("1. The competent authority creates the domain", lambda: _init(run))
    files = run.step("2. Three agencies hand over their registers", lambda: _make_files(run))
    run.step("3. Providers register, classify and confirm their datasets",
             lambda: _ingest_all(run, domain, files))
    grant = run.step("4. The authority licenses an operator for one scenario", lambda: _license(run, domain))
    alice = domain.principals.get("alice")
    run.step("5. Operator staff run a cross-agency join on raw data, through the policy",
             lambda: _query(run, domain, alice, grant.id, CROSS_AGENCY_SQL))
    run.step("6. Small groups are suppressed on the executed result",
             lambda: _query(run, domain, alice, grant.id, SMALL_CELL_SQL, limit=8))
    run.step("7. Raw-row attempts are refused, each with its reason",
             lambda: _refusals(run, domain, alice, grant.id))
    run.step("8. An aggregate product is checked, approved by two reviewers and released; "
             "a product holding raw identifiers is blocked", lambda: _exports(run, domain, alice, grant))
    run.step("9. Alice works in her isolated tenant (bubblewrap): samples, checked queries, a job on raw data",
             lambda: _tenant(run, domain, grant))
    for extra in domain.demo_extensions:
        extra(run, domain, grant)
    run.step("Audit: every step above is on a signed, verifiable record", lambda: _audit(run, domain))
    _summary(run)
    return run


def _init(run: DemoRun):
    from domain.core import Domain

    run.passwords["admin"] = "demo-" + secrets.token_urlsafe(9)
    domain = Domain.init(run.home, admin_id="admin", admin_password=run.passwords["admin"])
    (run.home / DEMO_MARKER).write_text("made by 'aod demo'; a later 'aod demo' may replace this home\n")
    run.console.print(f"domain home: [cyan]{run.home}[/]  (config, master key, control plane, audit log)")
    return domain


def _make_files(run: DemoRun) -> dict[str, Path]:
    data = demo_data.generate(people=run.people, firms=max(500, run.people // 12))
    files = demo_data.write_files(data, run.home / "demo-input")
    grid = Table("dataset", "file", "rows", "format")
    for name, path in files.items():
        rows = getattr(data, name).num_rows
        grid.add_row(name, path.name, f"{rows:,}", {"population": "CSV, GBK", "enterprise": "CSV, UTF-8"}.get(name, "Parquet"))
    run.console.print(grid)
    return files


def _person(domain, admin, pid: str, name: str, role: str, org: str | None, run: DemoRun):
    run.passwords[pid] = "demo-" + secrets.token_urlsafe(9)
    return domain.principals.create(admin, principal_id=pid, display_name=name, role=role, org=org,
                                    password=run.passwords[pid])


def _ingest_all(run: DemoRun, domain, files: dict[str, Path]) -> None:
    admin = domain.principals.get("admin")
    for name, (provider, title, attribute, frequency) in PROVIDERS.items():
        staff = _person(domain, admin, f"{provider}-clerk", f"{provider} data clerk", "provider", provider, run)
        ds = domain.catalog.ingest(staff, files[name], name=name, title=title, provider=provider,
                                   open_attribute=attribute, update_frequency=frequency)
        ds = domain.catalog.confirm(staff, name, privacy_unit=PRIVACY_UNIT[name])
        table = Table(title=f"{ds.name}: {ds.title} — {ds.rows:,} rows, grade {ds.grade}, open: {ds.open_attribute.value}")
        for col in ("column", "class", "entity"):
            table.add_column(col)
        for col in ds.columns:
            style = {"direct_identifier": "red", "quasi_identifier": "yellow", "sensitive": "magenta"}.get(col.klass, "")
            table.add_row(col.name, f"[{style}]{col.klass}[/]" if style else col.klass, col.entity or "")
        run.console.print(table)
        run.console.print(f"privacy unit: [bold]{ds.privacy_unit}[/]; raw data encrypted at rest in raw/{ds.name}/")


def _license(run: DemoRun, domain):
    admin = domain.principals.get("admin")
    domain.operators.register(admin, operator_id=OPERATOR, name="杭州数智洞察科技有限公司",
                              credit_code="91330106MA2CXJ7U0F" if _valid("91330106MA2CXJ7U0F") else _make_uscc())
    _person(domain, admin, "alice", "张晓丽", "operator_staff", OPERATOR, run)
    today = domain.today()
    domain.principals.set_compliance(
        admin, "alice", realname_verified_on=today, realname_method="unified identity platform",
        nda_signed_on=today, nda_expires_on=today + timedelta(days=3 * 365), training_passed_on=today,
    )
    for pid, name, role, org in (("rita", "王审核", "reviewer", "zj-dsj"), ("rob", "李复核", "reviewer", "zj-dsj"),
                                 ("reg", "赵监管", "regulator", None)):
        _person(domain, admin, pid, name, role, org, run)
    grant = domain.grants.create(
        admin, operator_id=OPERATOR, scenario=SCENARIO, columns=GRANT_COLUMNS,
        emergency_plan="EP-2026-017 数据安全事件应急预案", starts_on=today,
        expires_on=today + timedelta(days=2 * 365), purpose="regional labour-market report",
    )
    grant = domain.grants.activate(admin, grant.id, reason="application approved at the 2026-11 review meeting")
    run.console.print(f"operator [bold]{OPERATOR}[/], staff alice (real name verified, NDA, trained); "
                      f"grant [bold]{grant.id}[/] active until {grant.expires_on}")
    for ds, cols in grant.columns.items():
        run.console.print(f"  {ds}: {', '.join(cols)}")
    return grant


def _valid(code: str) -> bool:
    from domain.operators import uscc_is_valid

    return uscc_is_valid(code)


def _make_uscc() -> str:
    from domain.operators import _USCC_ALPHABET, _USCC_WEIGHTS

    prefix = "91330106MA2CXJ7U0"
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(prefix, _USCC_WEIGHTS))
    return prefix + _USCC_ALPHABET[(31 - total % 31) % 31]


def _query(run: DemoRun, domain, actor, grant_id: str, sql: str, limit: int = 30):
    outcome = domain.queries.run(actor, grant_id, sql)
    table = Table(title=f"{outcome.rows} rows from {', '.join(outcome.datasets)} on {outcome.engine}"
                        f" — {outcome.suppressed} rows suppressed below k={outcome.k}")
    for name in outcome.table.column_names:
        table.add_column(name)
    for row in outcome.table.slice(0, limit).to_pylist():
        table.add_row(*[str(v) for v in row.values()])
    run.console.print(table)
    return outcome


def _refusals(run: DemoRun, domain, actor, grant_id: str) -> None:
    from domain.errors import QueryRefused

    table = Table("attempt", "SQL", "refused because")
    for what, sql in REFUSED_ATTEMPTS:
        try:
            domain.queries.run(actor, grant_id, sql)
            reason = "[red]NOT REFUSED[/]"
        except QueryRefused as exc:
            reason = exc.diagnostics()
        table.add_row(what, sql, reason)
    run.console.print(table)


EXPORT_SQL = "SELECT district, education, count(*) AS n FROM population GROUP BY 1, 2 ORDER BY 1, 2"


def _exports(run: DemoRun, domain, alice, grant) -> None:
    """Export review through the real domain: checks on raw data inside the engine, two
    reviewers outside the operator, a signed and watermarked release; raw identifiers blocked."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    products = run.home / "products" / "demo"
    products.mkdir(parents=True, exist_ok=True)
    outcome = domain.queries.run(alice, grant.id, EXPORT_SQL)
    good = products / "headcount_by_district_education.csv"
    pacsv.write_csv(outcome.table, good)
    people = pacsv.read_csv(run.home / "demo-input" / "population_gbk.csv",
                            read_options=pacsv.ReadOptions(encoding="gbk"),
                            convert_options=pacsv.ConvertOptions(column_types={"id_number": pa.string()}))
    bad = products / "top_contributors.csv"  # as if copied out of a job's raw-data view
    pacsv.write_csv(people.select(["id_number", "district"]).slice(0, 40), bad)
    svc = domain.exports
    rita, rob = domain.principals.get("rita"), domain.principals.get("rob")
    ok = svc.submit(alice, grant_id=grant.id, scenario=grant.scenario, kind="data_package", file=good)
    for reviewer in (rita, rob):
        svc.vote(reviewer, ok.id, "approve", reason="aggregate counts, k well above 10")
    released = svc.release(rob, ok.id)
    blocked = svc.submit(alice, grant_id=grant.id, scenario=grant.scenario, kind="data_package", file=bad)
    table = Table("request", "product", "status", "automatic checks")
    for request in (svc.get(ok.id), svc.get(blocked.id)):
        checks = ", ".join(f"{c.rule}: {c.status.value if hasattr(c.status, 'value') else c.status}"
                           for c in svc.checks(request))
        table.add_row(request.id, request.product_name, request.status.value, checks)
    run.console.print(table)
    manifest = svc.verify(released.path)
    run.console.print(f"released [bold]{Path(released.path).relative_to(run.home)}[/] with a signed manifest; "
                      f"verified: reviewers {', '.join(r['id'] for r in manifest['reviewers'])}, "
                      f"sha256 {manifest['sha256'][:16]}…")
    request = svc.get(blocked.id)
    first = (request.status_reason or "").split(" | ")
    run.console.print(f"blocked before any reviewer saw it ({len(first)} findings), first: {first[0]}")


TENANT_JOB = """
import pyarrow.compute as pc, pyarrow.csv as csv, pyarrow.parquet as pq
people = pq.read_table('/data/raw/population.parquet', columns=['id_number', 'district'])
paid = pq.read_table('/data/raw/social_insurance.parquet', columns=['id_number', 'contribution_base'])
median = pc.approximate_median(paid['contribution_base'])
paid = paid.append_column('above', pc.cast(pc.greater(paid['contribution_base'], median), 'int64'))
by = paid.join(people, 'id_number').group_by('district').aggregate(
    [('id_number', 'count_distinct'), ('above', 'mean'), ('contribution_base', 'mean')])
by = by.rename_columns(['district', 'n', 'share_above_median_base', 'avg_base']).sort_by('district')
rate = by.set_column(2, 'share_above_median_base', pc.round(by['share_above_median_base'], 3))
by = by.set_column(3, 'avg_base', pc.round(by['avg_base'], 0))
csv.write_csv(rate.select(['district', 'n', 'share_above_median_base']), '/job/outputs/contribution_by_district.csv')
csv.write_csv(by.select(['district', 'n', 'avg_base']), '/job/outputs/avg_base_by_district.csv')
print('contribution rows read:', paid.num_rows)
"""


def _tenant_missing(home: Path) -> str | None:
    """Why the tenant step cannot run on this machine (None when it can)."""
    import shutil

    if shutil.which("bwrap") is None:
        return "the tenant step needs bubblewrap: apt-get install bubblewrap (or scripts/setup)"
    from tenants.errors import TenantError
    from tenants.isolation._visible import can_traverse
    from tenants.workspace import check_available

    try:
        check_available()
    except TenantError as exc:
        return f"the tenant step needs an encrypted workspace: {exc.diagnostics()}"
    if not can_traverse(home, 65534, 65534):
        return f"the tenant step needs a home the sandbox user can reach: give the parents of {home} o+x"
    return None


def _tenant(run: DemoRun, domain, grant) -> None:
    """Alice's tenant on bubblewrap, used through the real SDK over its gateway socket."""
    missing = _tenant_missing(run.home)
    if missing:
        run.console.print(f"[yellow]skipped[/]: {missing}")
        return
    admin = domain.principals.get("admin")
    tenant = domain.tenancy.create(admin, grant_id=grant.id, staff_id="alice", tenant_id="t-alice")
    try:
        domain.tenancy.start(admin, tenant.id, wait_s=None)
        socket = domain.tenancy.runtime.backend.spec_of(tenant.id).gateway_socket
        run.console.print(f"tenant [bold]{tenant.id}[/] running for alice on bubblewrap: no network, "
                          f"samples read-only, workspace encrypted; its only way out is {socket.name}")
        _tenant_session(run, socket)
    finally:
        gone = domain.tenancy.terminate(admin, tenant.id, reason="demo finished")
        key = "destroyed" if not domain.keys.exists("tenant", tenant.id) else "[red]STILL PRESENT[/]"
        run.console.print(f"tenant {gone.id} {gone.status.value}: sandbox removed, workspace deleted, key {key}")


def _tenant_session(run: DemoRun, socket: Path) -> None:
    from tenants.sdk import Client, RefusedError

    client = Client.at_socket(socket, timeout=120)
    people = client.load_sample("population")
    _print_frame(run, "sample population (desensitized), first 3 rows", people.head(3))
    try:
        client.query("SELECT id_number, district FROM population")
        run.console.print("[red]raw-row query NOT REFUSED[/]")
    except RefusedError as exc:
        run.console.print(f"query for raw rows refused: {exc.reason}")
    counts = client.query("SELECT district, count(*) AS n FROM population GROUP BY district ORDER BY district")
    run.console.print(f"accepted aggregate query: {len(counts)} districts, smallest group {counts['n'].min()}")
    code = run.home / "demo-input" / "tenant-job" / "main.py"
    code.parent.mkdir(parents=True, exist_ok=True)
    code.write_text(TENANT_JOB)
    job = client.submit_job(code, name="contribution_by_district").wait(timeout=120)
    run.console.print(f"job {job.job_id} on raw data {job.state} ({job.detail}); its outputs were checked:")
    for output in job.outputs:
        why = f": {output.reason}" if output.reason else " to the tenant"
        run.console.print(f"  {output.name} {output.state}{why}")
    if any(o.name == "contribution_by_district.csv" and o.state == "released" for o in job.outputs):
        _print_frame(run, "checked job output", job.fetch("contribution_by_district.csv").head(8))


def _print_frame(run: DemoRun, title: str, frame) -> None:
    table = Table(*[str(c) for c in frame.columns], title=title)
    for row in frame.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    run.console.print(table)


def _audit(run: DemoRun, domain) -> None:
    log = domain.audit_log
    log.checkpoint()  # a tree head signed now covers every event of the demo
    report = log.verify(log.public_key)
    events = log.query()
    table = Table("#", "time", "actor", "action", "outcome", "targets")
    for item in events[-12:]:
        e = item.event
        table.add_row(str(item.index), e.time.strftime("%H:%M:%S"), f"{e.actor.id} ({e.actor.role})", e.action.value,
                      e.outcome.value, ", ".join(f"{r.kind}:{r.id}" for r in e.targets))
    run.console.print(table)
    run.console.print(f"{len(events)} events; verification: [bold green]{report.summary()}[/]")


def _summary(run: DemoRun) -> None:
    lines = [f"home: {run.home}", "logins (for 'aod login' and the web pages):"]
    lines += [f"  {pid}: {pw}" for pid, pw in run.passwords.items()]
    lines += ["next:", f"  aod --home {run.home} serve            # API, reviewer pages",
              f"  aod --home {run.home} audit verify     # a regulator checks the log"]
    run.console.print(Panel("\n".join(lines), title="demo finished"))
