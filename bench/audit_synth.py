"""A fast generator of big synthetic audit logs for the audit benchmarks.

    python bench/audit_synth.py --events 10000000 --out /var/tmp/aod-audit-10m

Events are realistic in shape (queries, jobs, exports, votes, refusals, logins spread over a
year, 50 operators, 12 datasets) and encoded from a template that is checked against
`AuditEvent.canonical_json` on a sample, then written with `audit.bulk.bulk_build`, so the
log is exactly what the appender would have written (same bytes, tree heads, index).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from audit import AuditEvent
from audit.bulk import bulk_build
from audit.checkpoint import Signer
from audit.events import format_time

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
ACTIONS = [("query.run", 60), ("job.submit", 6), ("job.finish", 6), ("export.create", 2),
           ("export.vote", 3), ("export.release", 1), ("auth.login", 10), ("sample.create", 2),
           ("grant.suspend", 0.1), ("risk.report", 0.1), ("api.call", 10)]
DATASETS = ["population", "companies", "social_security", "housing", "vehicles", "health_visits",
            "tax_filings", "utilities", "education", "hospital_beds", "weather", "traffic"]


def _ref(kind: str, ident: str, digest: str | None = None) -> str:
    return ('{"id":' + json.dumps(ident) + ',"kind":"' + kind + '","sha256":'
            + (f'"{digest}"' if digest else "null") + "}")


def event_json(i: int, rng: random.Random, moment: datetime, operators: int) -> str:
    """Canonical JSON of one synthetic event (same bytes as AuditEvent.canonical_json)."""
    action = rng.choices([a for a, _ in ACTIONS], [w for _, w in ACTIONS])[0]
    org_n = rng.randrange(operators)
    org, staff = f"op-{org_n:03d}", f"staff-{org_n:03d}-{rng.randrange(8)}"
    dataset = DATASETS[rng.randrange(len(DATASETS))]
    refused = rng.random() < 0.08
    digest = hashlib.sha256(i.to_bytes(8, "little")).hexdigest()
    inputs = "[" + _ref("dataset", dataset) + "]" if action in ("query.run", "job.submit", "sample.create") else "[]"
    outputs = "[" + _ref("result", f"r-{i}", digest) + "]" if action == "query.run" and not refused else "[]"
    targets = "[" + _ref("grant", f"g-{org_n:03d}") + "]"
    reason = '"column is a direct identifier"' if refused else "null"
    details = '{"rows":' + str(rng.randrange(1000)) + ',"sql_redacted":"select district, count(*) from t group by district"}'
    return ('{"action":"' + action + '","actor":{"id":"' + staff + '","role":"operator_staff"},"details":'
            + details + ',"event_id":"ev-' + str(i) + '","inputs":' + inputs + ',"org":"' + org
            + '","outcome":"' + ("refused" if refused else "ok") + '","outputs":' + outputs
            + ',"reason":' + reason + ',"request_id":"req-' + str(i) + '","targets":' + targets
            + ',"time":"' + format_time(moment) + '"}')


def generate(count: int, *, seed: int = 7, operators: int = 50, days: int = 365):
    """(event json, logged time) pairs, spread evenly over `days` from START."""
    rng = random.Random(seed)
    step = timedelta(seconds=days * 86400 / max(count, 1))
    moment = START
    for i in range(count):
        text = event_json(i, rng, moment, operators)
        if i < 200:  # the template must be exactly the canonical encoding
            assert AuditEvent.from_json(text).canonical_json() == text, text
        yield text, moment
        moment += step


def build(out: Path, count: int, *, segment_events: int = 1 << 14, index: bool = True) -> tuple[Signer, float]:
    signer = Signer.generate()
    started = time.perf_counter()
    bulk_build(out, signer, generate(count), segment_events=segment_events, index=index)
    return signer, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--segment-events", type=int, default=1 << 14)
    parser.add_argument("--no-index", action="store_true")
    args = parser.parse_args()
    _, seconds = build(args.out / "audit", args.events, segment_events=args.segment_events,
                       index=not args.no_index)
    print(f"built {args.events} events in {seconds:.1f} s ({args.events / seconds:,.0f} events/s) at {args.out}")


if __name__ == "__main__":
    main()
