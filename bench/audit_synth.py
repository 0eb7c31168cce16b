"""A fast generator of big synthetic audit logs for the audit benchmarks.

    python bench/audit_synth.py --events 10000000          # builds /var/tmp/aod-audit-bench/audit-10000000

Events are realistic in shape (queries, jobs, exports, votes, refusals, logins, API calls
spread over a year, 50 operators, 12 datasets), encoded from a template that is checked
against `AuditEvent.canonical_json` on a sample, and written by `audit.bulk` in parallel
processes, so the log is exactly what the appender would have written (same bytes, node
files, tree heads, Parquet index) and verifies like any other. Built logs are cached.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import random
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from audit import AuditEvent
from audit.bulk import bulk_build_parallel
from audit.checkpoint import Signer
from audit.events import format_time

START = datetime(2025, 1, 1, tzinfo=timezone.utc)  # a year that has ended
CACHE = Path("/var/tmp/aod-audit-bench")
ACTIONS = [("query.run", 60), ("job.submit", 6), ("job.finish", 6), ("export.create", 2),
           ("export.vote", 3), ("export.release", 1), ("auth.login", 10), ("sample.create", 2),
           ("grant.suspend", 0.1), ("risk.report", 0.1), ("api.call", 10)]
DATASETS = ["population", "companies", "social_security", "housing", "vehicles", "health_visits",
            "tax_filings", "utilities", "education", "hospital_beds", "weather", "traffic"]
SQL = "select district, count(*) from t group by district"
_CUM: list[float] = []
for _action, _weight in ACTIONS:
    _CUM.append((_CUM[-1] if _CUM else 0) + _weight)


def _ref(kind: str, ident: str, digest: str | None = None) -> str:
    return ('{"id":"' + ident + '","kind":"' + kind + '","sha256":'
            + ('"' + digest + '"' if digest else "null") + "}")


def event_json(i: int, rng: random.Random, moment: datetime, operators: int) -> str:
    """Canonical JSON of one synthetic event (same bytes as AuditEvent.canonical_json)."""
    action = ACTIONS[bisect.bisect_right(_CUM, rng.random() * _CUM[-1])][0]
    org_n = int(rng.random() * operators)
    refused = rng.random() < 0.08
    query = action == "query.run"
    reads = query or action in ("job.submit", "sample.create")
    inputs = "[" + _ref("dataset", DATASETS[i % len(DATASETS)]) + "]" if reads else "[]"
    outputs = ("[" + _ref("result", f"r-{i}", hashlib.sha256(b"%d" % i).hexdigest()) + "]"
               if query and not refused else "[]")
    return ('{"action":"' + action + f'","actor":{{"id":"staff-{org_n:03d}-{i & 7}",'
            '"role":"operator_staff"},"details":{"rows":' + str(i % 997) + ',"sql_redacted":"'
            + SQL + '"},"event_id":"ev-' + str(i) + '","inputs":' + inputs
            + f',"org":"op-{org_n:03d}","outcome":"' + ("refused" if refused else "ok")
            + '","outputs":' + outputs + ',"reason":'
            + ('"column is a direct identifier"' if refused else "null")
            + ',"request_id":"req-' + str(i) + '","targets":[' + _ref("grant", f"g-{org_n:03d}")
            + '],"time":"' + format_time(moment) + '"}')


@dataclass(frozen=True)
class Source:
    """Deterministic events [first, first + count) of a `total`-event log over `days`."""

    total: int
    operators: int = 50
    days: int = 365

    def __call__(self, first: int, count: int) -> list[tuple[str, datetime]]:
        rng = random.Random(first)
        step = self.days * 86400 / max(self.total, 1)
        out = []
        for i in range(first, first + count):
            moment = START + timedelta(seconds=i * step)
            text = event_json(i, rng, moment, self.operators)
            if i < 200:  # the template must be exactly the canonical encoding
                assert AuditEvent.from_json(text).canonical_json() == text, text
            out.append((text, moment))
        return out


def build(out: Path, count: int, *, segment_events: int = 1 << 14, index: bool = True,
          workers: int = 2) -> tuple[Signer, float]:
    """Build a synthetic log of `count` events at `out` (reused when it is already there)."""
    signer_path = out.parent / "bench-signer.pem"
    if (out / "log.json").exists() and signer_path.exists():
        return Signer.load_or_create(signer_path), 0.0
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    signer_path.unlink(missing_ok=True)
    signer = Signer.load_or_create(signer_path)
    started = time.perf_counter()
    bulk_build_parallel(out, signer, Source(count), count, segment_events=segment_events,
                        index=index, workers=workers)
    return signer, time.perf_counter() - started


def cached(count: int, root: Path = CACHE) -> tuple[Path, Signer, float]:
    """The cached synthetic log of `count` events (built on first use), its signer, and the
    seconds the build took (0 when reused)."""
    out = root / f"audit-{count}" / "audit"
    signer, seconds = build(out, count)
    return out, signer, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--root", type=Path, default=CACHE)
    args = parser.parse_args()
    out, _, seconds = cached(args.events, args.root)
    rate = f" ({args.events / seconds:,.0f} events/s)" if seconds else " (cached)"
    print(f"{args.events:,} events at {out}: built in {seconds:.1f} s{rate}")


if __name__ == "__main__":
    main()
