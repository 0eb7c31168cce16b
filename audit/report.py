"""The annual operation report of one operator (R18), built from the log alone: its
queries, jobs, products, exports, refusals and incidents, month by month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from audit.errors import QueryError
from audit.index import connect
from audit.query import events_relation

if TYPE_CHECKING:
    from audit.log import AuditLog

INCIDENT_ACTIONS = ("risk.report", "risk.clear", "grant.suspend", "grant.terminate", "grant.expire",
                    "tenant.suspend", "tenant.terminate", "data.destroy", "export.override",
                    "auth.denied", "audit.repair")
PRODUCT_KINDS = ("product", "model", "api", "release")

SECTIONS = {
    "queries": "action = 'query.run'",
    "jobs": "starts_with(action, 'job.')",
    "exports": "starts_with(action, 'export.')",
    "imports": "starts_with(action, 'import.')",
    "apis": "starts_with(action, 'api.')",
    "samples": "action = 'sample.create'",
    "refusals": "outcome = 'refused'",
    "failures": "outcome = 'failed'",
    "incidents": "action IN (" + ", ".join(f"'{a}'" for a in INCIDENT_ACTIONS) + ")",
}


@dataclass
class AnnualReport:
    org: str
    year: int
    total: int = 0
    sections: dict[str, dict[str, int]] = field(default_factory=dict)  # section -> action/outcome -> n
    by_month: dict[str, int] = field(default_factory=dict)
    datasets: dict[str, int] = field(default_factory=dict)        # dataset -> events reading it
    products: list[dict] = field(default_factory=list)            # outputs with content hashes
    released: list[str] = field(default_factory=list)             # export ids released
    refusal_reasons: list[tuple[str, int]] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"org": self.org, "year": self.year, "total_events": self.total,
                "sections": self.sections, "by_month": self.by_month, "datasets": self.datasets,
                "products": self.products, "released_exports": self.released,
                "refusal_reasons": [{"reason": r, "count": n} for r, n in self.refusal_reasons],
                "incidents": self.incidents}

    def to_markdown(self) -> str:
        out = [f"# Annual operation report: {self.org}, {self.year}", "",
               f"Built from the audit log: {self.total} events recorded for this operator.", ""]
        for name, counts in self.sections.items():
            out.append(f"## {name.capitalize()}")
            out += [f"- {k}: {v}" for k, v in sorted(counts.items())] or ["- none"]
            out.append("")
        out.append("## Datasets used")
        out += [f"- {d}: {n} events" for d, n in sorted(self.datasets.items())] or ["- none"]
        out += ["", "## Products", *([f"- {p['ref']} ({p['action']})" for p in self.products] or ["- none"])]
        out += ["", "## Released exports", *([f"- {x}" for x in self.released] or ["- none"])]
        out += ["", "## Incidents", *([f"- #{i['index']} {i['time']} {i['action']} ({i['outcome']})"
                                       for i in self.incidents] or ["- none"])]
        out += ["", "## Month by month", *[f"- {m}: {n}" for m, n in sorted(self.by_month.items())]]
        return "\n".join(out) + "\n"


def annual_report(log: "AuditLog", org: str, year: int) -> AnnualReport:
    if not isinstance(org, str) or not org or len(org) > 256:
        raise QueryError("org must be an operator id")
    if not isinstance(year, int) or not 2000 <= year <= 2200:
        raise QueryError("year must be a year like 2026")
    since = datetime(year, 1, 1, tzinfo=timezone.utc)
    until = datetime(year + 1, 1, 1, tzinfo=timezone.utc)
    report = AnnualReport(org, year)
    con = connect()
    try:
        events_relation(con, log, since, until)
        con.execute("CREATE TEMP TABLE mine AS SELECT * FROM events WHERE org = ? AND time >= ? "
                    "AND time < ?", [org, since.replace(tzinfo=None), until.replace(tzinfo=None)])
        _fill(con, report)
    finally:
        con.close()
    return report


def _fill(con, r: AnnualReport) -> None:
    r.total = con.execute("SELECT count(*) FROM mine").fetchall()[0][0]
    for name, cond in SECTIONS.items():
        rows = con.execute(f"SELECT action || ' ' || outcome, count(*) FROM mine WHERE {cond} "
                           "GROUP BY 1 ORDER BY 1").fetchall()
        r.sections[name] = {k: n for k, n in rows}
    r.by_month = {m: n for m, n in con.execute(
        "SELECT strftime(time, '%Y-%m'), count(*) FROM mine GROUP BY 1 ORDER BY 1").fetchall()}
    r.datasets = {d: n for d, n in con.execute(
        "SELECT d, count(*) FROM (SELECT unnest(datasets) AS d FROM mine) GROUP BY 1 ORDER BY 1").fetchall()}
    kinds = ", ".join(f"'{k}'" for k in PRODUCT_KINDS)
    r.products = [{"ref": f"{k}:{i}", "sha256": h, "action": a, "index": x} for x, a, k, i, h in con.execute(
        "SELECT idx, action, o.kind, o.id, o.sha256 FROM (SELECT idx, action, unnest(outputs) AS o "
        f"FROM mine WHERE outcome = 'ok') WHERE o.kind IN ({kinds}) ORDER BY idx").fetchall()]
    r.released = [x for (x,) in con.execute(
        "SELECT DISTINCT t.id FROM (SELECT unnest(targets) AS t FROM mine WHERE action = "
        "'export.release' AND outcome = 'ok') WHERE t.kind = 'export' ORDER BY 1").fetchall()]
    r.refusal_reasons = [(reason or "(no reason given)", n) for reason, n in con.execute(
        "SELECT reason, count(*) FROM mine WHERE outcome = 'refused' GROUP BY 1 "
        "ORDER BY 2 DESC, 1 LIMIT 20").fetchall()]
    incidents = ", ".join(f"'{a}'" for a in INCIDENT_ACTIONS)
    r.incidents = [{"index": x, "time": t.isoformat(), "action": a, "outcome": o, "reason": why}
                   for x, t, a, o, why in con.execute(
                       f"SELECT idx, time, action, outcome, reason FROM mine WHERE action IN ({incidents}) "
                       "ORDER BY idx LIMIT 1000").fetchall()]
