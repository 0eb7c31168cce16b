"""`ExportService`: export requests from draft to release, every step audited in the same
SQLite transaction as its state change (`tx.audit(event)` → audit outbox).

The CLI (`aod export …`), the reviewer web pages and the domain's API call these methods and
hold no logic of their own. Long work (automatic checks, watermarking) runs outside any
transaction; its result is written in one."""

from __future__ import annotations

import json
import secrets
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from export_review import _audit
from export_review.checks import CheckContext, CheckReport, CheckResult, CheckStatus, Limits, Product, ProductKind
from export_review.checks import run_checks as default_checker
from export_review.errors import ChecksNotPassed, InvalidInput, NotFound, PermissionDenied
from export_review.release.manifest import sha256_file
from export_review.workflow import permissions as perm
from export_review.workflow.models import ExportRequest, HistoryEntry, RequestView, Vote
from export_review.workflow.releasing import ReleaseMixin
from export_review.workflow.status import (
    CHECK_EVENT, OVERRIDE_EVENT, OVERRIDE_TARGETS, REQUIRED_REVIEWS, STATUS_AUDIT_EVENT, VIEW_EVENT,
    VOTE_EVENT, Decision, RequestStatus, check_transition, outcome_of,
)

S = RequestStatus
SYSTEM = type("SystemActor", (), {"id": "system", "role": "system", "org": None})()
MAX_REASON = 2000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ExportService(ReleaseMixin):
    def __init__(self, uow: Any, home: Path, *, grants: Any, raw_for: Callable[[str], Any] | None = None,
                 clock: Callable[[], datetime] = utcnow, limits: Limits = Limits(),
                 checker: Callable[[CheckContext], CheckReport] = default_checker, policy: Any = None):
        self.uow = uow
        self.home = Path(home)
        self.grants = grants
        self.raw_for = raw_for
        self.clock = clock
        self.limits = limits
        self.checker = checker
        self.policy = policy

    # -- reading ------------------------------------------------------------------------
    def get(self, export_id: str) -> ExportRequest:
        row = self.uow.one("SELECT * FROM export_requests WHERE id=?", (export_id,))
        if row is None:
            raise NotFound(f"no export request {export_id!r}")
        return ExportRequest.from_row(row)

    def product_path(self, request: ExportRequest) -> Path:
        return self.home / "exports" / request.id / f"v{request.version}" / request.product_name

    def checks(self, request: ExportRequest) -> tuple[CheckResult, ...]:
        rows = self.uow.all("SELECT result FROM export_checks WHERE request_id=? AND version=? ORDER BY rowid",
                            (request.id, request.version))
        return tuple(CheckResult.from_dict(json.loads(r["result"])) for r in rows)

    def votes(self, request: ExportRequest) -> list[Vote]:
        rows = self.uow.all("SELECT * FROM export_votes WHERE request_id=? AND version=? ORDER BY decided_at",
                            (request.id, request.version))
        return [Vote(r["reviewer"], Decision(r["decision"]), r["reason"], r["decided_at"]) for r in rows]

    def history(self, export_id: str) -> tuple[HistoryEntry, ...]:
        rows = self.uow.all("SELECT * FROM export_history WHERE request_id=? ORDER BY seq", (export_id,))
        return tuple(HistoryEntry(r["from_status"], r["to_status"], r["actor"], r["reason"], r["at"]) for r in rows)

    def list(self, actor: Any, status: str | None = None) -> list[ExportRequest]:
        rows = self.uow.all("SELECT * FROM export_requests ORDER BY created_at, id")
        found = [ExportRequest.from_row(r) for r in rows]
        visible = [r for r in found if perm.can_view(actor, r)]
        return [r for r in visible if status is None or r.status.value == status]

    def queue(self, actor: Any) -> list[ExportRequest]:
        """What a reviewer should work on: requests awaiting their vote or a release."""
        out = []
        for r in self.list(actor):
            voters = [v.reviewer for v in self.votes(r)]
            if perm.can_vote(actor, r, voters) or perm.can_release(actor, r):
                out.append(r)
        return out

    def view(self, actor: Any, export_id: str) -> RequestView:
        request = self.get(export_id)
        self._check(perm.can_view(actor, request), "view", actor, request)
        with self.uow.transaction() as tx:
            tx.audit(self._event(VIEW_EVENT, actor, request))
        return self._view(actor, request)

    def _view(self, actor: Any, request: ExportRequest) -> RequestView:
        votes = self.votes(request)
        required = REQUIRED_REVIEWS.get(request.kind, 2)
        decided = request.status != S.UNDER_REVIEW or len(votes) >= required
        shown = tuple(v for v in votes if decided or v.reviewer == actor.id)
        voters = [v.reviewer for v in votes]
        allowed = {"vote": perm.can_vote(actor, request, voters), "release": perm.can_release(actor, request),
                   "withdraw": perm.can_withdraw(actor, request), "override": perm.can_override(actor, request),
                   "download": perm.can_download(actor, request), "submit": perm.can_submit(actor, request)}
        return RequestView(request, self.checks(request), shown, len(votes) - len(shown), required,
                           self.history(request.id), self.release_record(request.id), allowed)

    def preview(self, actor: Any, export_id: str):
        """A safe preview (shape, summaries, first rows only if no check failed). Audited."""
        from export_review.preview import preview

        request = self.get(export_id)
        self._check(perm.can_view(actor, request), "view", actor, request)
        with self.uow.transaction() as tx:
            tx.audit(self._event(VIEW_EVENT, actor, request, details={"preview": True}))
        show = request.check_status in (CheckStatus.PASSED, CheckStatus.NEEDS_REVIEW)
        return preview(self.product_path(request), request.kind, show)

    def release_record(self, export_id: str) -> dict | None:
        row = self.uow.one("SELECT * FROM export_releases WHERE request_id=?", (export_id,))
        return None if row is None else {**dict(row), "manifest": json.loads(row["manifest"])}

    # -- creating and submitting ------------------------------------------------------------
    def submit(self, actor: Any, *, grant_id: str, scenario: str, kind: str, file: Path | str,
               title: str = "", metadata: Mapping[str, Any] | None = None) -> ExportRequest:
        """Create a request for a product inside the domain and submit it (checks run at once)."""
        request = self.create(actor, grant_id=grant_id, scenario=scenario, kind=kind, file=file,
                              title=title, metadata=metadata)
        return self.submit_draft(actor, request.id)

    def create(self, actor: Any, *, grant_id: str, scenario: str, kind: str, file: Path | str,
               title: str = "", metadata: Mapping[str, Any] | None = None) -> ExportRequest:
        kind = _kind(kind)
        try:
            grant = self.grants.grant(grant_id)
        except KeyError:
            raise InvalidInput(f"no grant {grant_id!r}") from None
        if not perm.can_create(actor, grant.operator_id):
            self._refuse(actor, "export.create", None, grant.operator_id,
                         f"{actor.id} may export only for their own operator's grants")
        source, meta = _intake(Path(file), metadata)
        export_id = "x-" + secrets.token_hex(5)
        stored = self._store_product(export_id, 1, source)
        now = self._now()
        with self.uow.transaction() as tx:
            tx.conn.execute(
                "INSERT INTO export_requests (id, kind, title, org, requester, grant_id, scenario, status, "
                "version, product_name, product_sha256, metadata, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', 1, ?, ?, ?, ?, ?)",
                (export_id, kind.value, (title or source.name)[:200], grant.operator_id, actor.id, grant_id,
                 scenario.strip(), stored.name, sha256_file(stored), json.dumps(meta), now, now))
            request = self._read(tx, export_id)
            self._log(tx, request, None, S.DRAFT, actor, None,
                      inputs=[("file", stored.name, request.product_sha256)], targets=[("grant", grant_id)])
        return self.get(export_id)

    def submit_draft(self, actor: Any, export_id: str, *, file: Path | str | None = None,
                     metadata: Mapping[str, Any] | None = None) -> ExportRequest:
        """Submit a draft, or resubmit a request with changes requested (a new file makes a new
        version; its votes start again). The automatic checks run before anyone reviews."""
        request = self.get(export_id)
        self._check(perm.can_submit(actor, request), "submit", actor, request)
        staged = None
        if file is not None:
            source, meta = _intake(Path(file), metadata)
            staged = (self._store_product(export_id, request.version + 1, source), meta)
        elif request.status == S.CHANGES_REQUESTED:
            raise InvalidInput("resubmitting needs the changed product: give the new file")
        with self.uow.transaction() as tx:
            request = self._read(tx, export_id)
            self._check(perm.can_submit(actor, request), "submit", actor, request)
            if staged:
                tx.conn.execute("UPDATE export_requests SET version=version+1, product_name=?, product_sha256=?, "
                                "metadata=?, check_status=NULL WHERE id=?",
                                (staged[0].name, sha256_file(staged[0]), json.dumps(staged[1]), export_id))
                request = self._read(tx, export_id)
            self._move(tx, request, S.SUBMITTED, actor, None,
                       inputs=[("file", request.product_name, request.product_sha256)])
        return self.run_pending_checks(export_id)

    def run_pending_checks(self, export_id: str) -> ExportRequest:
        """Run the automatic checks of a submitted request (idempotent: resumes after a crash)."""
        request = self.get(export_id)
        if request.status != S.SUBMITTED:
            return request
        report = self._run_checks(request)
        with self.uow.transaction() as tx:
            current = self._read(tx, export_id)
            if current.status != S.SUBMITTED or current.version != request.version:
                return current
            self._record_checks(tx, current, report)
            failed = report.failed
            target = S.CHANGES_REQUESTED if failed else S.UNDER_REVIEW
            reason = _failure_summary(failed) if failed else None
            self._move(tx, self._read(tx, export_id), target, SYSTEM, reason)
        return self.get(export_id)

    def _run_checks(self, request: ExportRequest) -> CheckReport:
        product = Product(ProductKind(request.kind), self.product_path(request), request.metadata)
        raw = self.raw_for(request.grant_id) if self.raw_for else None
        ctx = CheckContext(product, raw=raw, grants=self.grants, grant_id=request.grant_id,
                           scenario=request.scenario, org=request.org, limits=self.limits, policy=self.policy)
        return self.checker(ctx)

    def _record_checks(self, tx, request: ExportRequest, report: CheckReport) -> None:
        now = self._now()
        for result in report.results:
            tx.conn.execute("INSERT OR REPLACE INTO export_checks (request_id, version, rule, status, result, ran_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (request.id, request.version, result.rule,
                                                          result.status.value, json.dumps(result.to_dict(),
                                                                                          ensure_ascii=False), now))
        tx.conn.execute("UPDATE export_requests SET check_status=? WHERE id=?", (report.status.value, request.id))
        tx.audit(self._event(CHECK_EVENT, SYSTEM, request, details={
            "version": request.version, "status": report.status.value,
            "rules": {r.rule: r.status.value for r in report.results},
            "findings": sorted({f.code for r in report.results for f in r.findings if f.status != CheckStatus.PASSED}),
        }))

    # -- reviewing ------------------------------------------------------------------------
    def vote(self, actor: Any, export_id: str, decision: str, reason: str = "") -> ExportRequest:
        decision = _decision(decision)
        reason = (reason or "").strip()[:MAX_REASON]
        current = self.get(export_id)
        voters = [v.reviewer for v in self.votes(current)]
        if not perm.can_vote(actor, current, voters):  # refused attempts are audited too
            self._refuse(actor, VOTE_EVENT, current, current.org, _vote_refusal(actor, current, voters))
        with self.uow.transaction() as tx:
            request = self._read(tx, export_id)
            voters = [r["reviewer"] for r in tx.conn.execute(
                "SELECT reviewer FROM export_votes WHERE request_id=? AND version=?", (export_id, request.version))]
            if not perm.can_vote(actor, request, voters):
                raise PermissionDenied(_vote_refusal(actor, request, voters))
            self._check_reason(request, decision, reason)
            tx.conn.execute("INSERT INTO export_votes (request_id, version, reviewer, reviewer_org, decision, reason, "
                            "decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)", (export_id, request.version, actor.id,
                                                                         getattr(actor, "org", None), decision.value,
                                                                         reason, self._now()))
            tx.audit(self._event(VOTE_EVENT, actor, request, reason=reason or None,
                                 details={"decision": decision.value, "version": request.version}))
            decisions = [Decision(r["decision"]) for r in tx.conn.execute(
                "SELECT decision FROM export_votes WHERE request_id=? AND version=?", (export_id, request.version))]
            if len(decisions) >= REQUIRED_REVIEWS.get(request.kind, 2):
                self._move(tx, request, outcome_of(decisions), actor, self._combined_reasons(tx, request))
        return self.get(export_id)

    def _check_reason(self, request: ExportRequest, decision: Decision, reason: str) -> None:
        if decision != Decision.APPROVE and not reason:
            raise InvalidInput("rejecting or requesting changes needs a reason the requester can act on")
        if decision == Decision.APPROVE:
            if request.check_status == CheckStatus.FAILED or request.check_status is None:
                raise ChecksNotPassed()
            if request.check_status == CheckStatus.NEEDS_REVIEW and not reason:
                raise InvalidInput("some checks need review: say why the flagged findings are acceptable")

    def _combined_reasons(self, tx, request: ExportRequest) -> str | None:
        rows = tx.conn.execute("SELECT reviewer, decision, reason FROM export_votes WHERE request_id=? AND version=? "
                               "ORDER BY decided_at", (request.id, request.version)).fetchall()
        text = "; ".join(f"{r['reviewer']}: {r['decision']}" + (f" ({r['reason']})" if r["reason"] else "")
                         for r in rows)
        return text[:MAX_REASON] or None

    def withdraw(self, actor: Any, export_id: str, reason: str = "") -> ExportRequest:
        current = self.get(export_id)
        if not perm.can_withdraw(actor, current):
            self._refuse(actor, "export.withdraw", current, current.org, perm.why_not("withdraw", actor, current))
        with self.uow.transaction() as tx:
            request = self._read(tx, export_id)
            if not perm.can_withdraw(actor, request):
                raise PermissionDenied(perm.why_not("withdraw", actor, request))
            self._move(tx, request, S.WITHDRAWN, actor, reason.strip()[:MAX_REASON] or None)
        return self.get(export_id)

    def override(self, actor: Any, export_id: str, to: str, reason: str) -> ExportRequest:
        """The authority forces a request into rejected, withdrawn or changes requested: an
        explicit, audited transition along the table (never into approved or released)."""
        target = _status(to)
        reason = (reason or "").strip()[:MAX_REASON]
        if not reason:
            raise InvalidInput("an override needs a reason")
        if target not in OVERRIDE_TARGETS:
            raise InvalidInput(f"an override cannot make a request {target.value}: that needs two reviewers")
        current = self.get(export_id)
        if not perm.can_override(actor, current):
            self._refuse(actor, OVERRIDE_EVENT, current, current.org, perm.why_not("override", actor, current))
        with self.uow.transaction() as tx:
            request = self._read(tx, export_id)
            if not perm.can_override(actor, request):
                raise PermissionDenied(perm.why_not("override", actor, request))
            check_transition(request.status, target)
            tx.audit(self._event(OVERRIDE_EVENT, actor, request, reason=reason,
                                 details={"from": request.status.value, "to": target.value}))
            self._move(tx, request, target, actor, reason)
        return self.get(export_id)

    # -- helpers --------------------------------------------------------------------------
    def _read(self, tx, export_id: str) -> ExportRequest:
        row = tx.conn.execute("SELECT * FROM export_requests WHERE id=?", (export_id,)).fetchone()
        if row is None:
            raise NotFound(f"no export request {export_id!r}")
        return ExportRequest.from_row(row)

    def _move(self, tx, request: ExportRequest, target: RequestStatus, actor: Any, reason: str | None,
              **refs) -> None:
        """The one way a status changes: check the table, write the row and history, audit."""
        check_transition(request.status, target)
        now = self._now()
        tx.conn.execute("UPDATE export_requests SET status=?, status_reason=?, updated_at=? WHERE id=?",
                        (target.value, reason, now, request.id))
        self._log(tx, request, request.status, target, actor, reason, **refs)

    def _log(self, tx, request: ExportRequest, old: RequestStatus | None, new: RequestStatus, actor: Any,
             reason: str | None, **refs) -> None:
        tx.conn.execute("INSERT INTO export_history (request_id, from_status, to_status, actor, reason, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (request.id, old.value if old else None, new.value,
                                                      actor.id, reason, self._now()))
        tx.audit(self._event(STATUS_AUDIT_EVENT[new], actor, request, reason=reason,
                             details={"from": old.value if old else None, "to": new.value,
                                      "version": request.version, "kind": request.kind}, **refs))

    def _event(self, action: str, actor: Any, request: ExportRequest, **kw):
        return _audit.event(action, actor, at=self.clock(), org=request.org, export_id=request.id, **kw)

    def _check(self, allowed: bool, verb: str, actor: Any, request: ExportRequest) -> None:
        if not allowed:
            self._refuse(actor, f"export.{'view' if verb == 'view' else verb}", request, request.org,
                         perm.why_not(verb, actor, request))

    def _refuse(self, actor: Any, action: str, request: ExportRequest | None, org: str | None, reason: str):
        """Audit a refusal in a transaction of its own, then raise."""
        try:
            with self.uow.transaction() as tx:
                tx.audit(_audit.event(action if action in _KNOWN else VIEW_EVENT, actor, at=self.clock(), org=org,
                                      export_id=request.id if request else None, refused=True, reason=reason))
        finally:
            raise PermissionDenied(reason)

    def _store_product(self, export_id: str, version: int, source: Path) -> Path:
        folder = self.home / "exports" / export_id / f"v{version}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = folder / _safe_name(source.name)
        shutil.copyfile(source, target)
        return target

    def _now(self) -> str:
        return self.clock().isoformat()


_KNOWN = set(STATUS_AUDIT_EVENT.values()) | {VIEW_EVENT, VOTE_EVENT, OVERRIDE_EVENT, "export.download",
                                              "export.verify"}


def _vote_refusal(actor: Any, request: ExportRequest, voters: list[str]) -> str:
    if actor.id in voters:
        return f"{actor.id} has already decided on this version; a second reviewer must decide"
    if request.status != S.UNDER_REVIEW:
        return f"the request is {request.status.value}, not under review"
    return perm.why_not("review", actor, request)


def _failure_summary(failed) -> str:
    messages = [f"{r.rule}: {f.message}" for r in failed for f in r.findings if f.status == CheckStatus.FAILED]
    return " | ".join(messages)[:MAX_REASON]


def _kind(kind: str) -> ProductKind:
    try:
        return ProductKind(kind)
    except ValueError:
        raise InvalidInput(f"kind must be one of {', '.join(k.value for k in ProductKind)}") from None


def _decision(decision: str) -> Decision:
    try:
        return Decision(decision)
    except ValueError:
        raise InvalidInput(f"decision must be one of {', '.join(d.value for d in Decision)}") from None


def _status(status: str) -> RequestStatus:
    try:
        return RequestStatus(status)
    except ValueError:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in RequestStatus)}") from None


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:120].lstrip(".")
    return cleaned or "product"


def _intake(path: Path, metadata: Mapping[str, Any] | None) -> tuple[Path, dict]:
    if not path.is_file():
        raise InvalidInput(f"product file {path.name} does not exist")
    if path.stat().st_size == 0:
        raise InvalidInput(f"product file {path.name} is empty")
    if metadata is None:
        side = Path(str(path) + ".meta.json")
        if side.is_file():
            try:
                metadata = json.loads(side.read_text(encoding="utf-8"))
            except ValueError:
                raise InvalidInput(f"{side.name} is not valid JSON") from None
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidInput("product metadata must be a JSON object")
    return path, dict(metadata or {})
