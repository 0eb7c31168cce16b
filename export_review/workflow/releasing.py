"""Release, download, verification and tracing (part of `ExportService`).

Releasing re-checks everything at the last moment (status approved, checks passed, the
required independent approvals of this version, the grant still active with this scenario),
writes the watermarked copy and its signed manifest, then records the release and its audit
event in one transaction; if that fails, the written files are removed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from export_review.checks.base import CheckStatus
from export_review.errors import ChecksNotPassed, ManifestInvalid, NotFound, PermissionDenied, WatermarkNotFound
from export_review.release import keys, manifest as manifests, watermark
from export_review.workflow import permissions as perm
from export_review.workflow.models import ExportRequest, Released, Trace
from export_review.workflow.status import DOWNLOAD_EVENT, REQUIRED_REVIEWS, Decision, RequestStatus

TRACE_P_VALUE = 1e-6


class ReleaseMixin:
    @property
    def api(self):
        """The gateway of endpoints published from released query templates."""
        from export_review.api.gateway import ApiGateway

        if getattr(self, "_api", None) is None:
            self._api = ApiGateway(self.uow, grants=self.grants, policy=self.policy, clock=self.clock)
        return self._api

    def release(self, actor: Any, export_id: str) -> Released:
        request = self.get(export_id)
        if not perm.can_release(actor, request):
            self._refuse(actor, "export.release", request, request.org, perm.why_not("release", actor, request))
        approvers = self._check_releasable(request)
        signing = keys.load_or_create(self.home)
        folder = self.home / "exports" / export_id / "release"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        out = folder / request.product_name
        if request.kind == "api":  # a query template is published, not handed out: nothing to mark
            shutil.copyfile(self.product_path(request), out)
            scheme = "none"
        else:
            scheme = watermark.mark_file(self.product_path(request), out, keys.watermark_key(signing, export_id))
        body = self._manifest(request, actor, approvers, out, scheme)
        signed = manifests.sign(body, signing)
        manifest_path = folder / "manifest.json"
        _write_json(manifest_path, signed)
        try:
            with self.uow.transaction() as tx:
                current = self._read(tx, export_id)
                if current.status != RequestStatus.APPROVED or current.version != request.version:
                    raise PermissionDenied(f"the request became {current.status.value} meanwhile")
                tx.conn.execute("INSERT INTO export_releases (request_id, file_name, sha256, manifest, released_by, "
                                "released_at) VALUES (?, ?, ?, ?, ?, ?)", (export_id, out.name, body["sha256"],
                                                                           json.dumps(signed), actor.id,
                                                                           body["released_at"]))
                if request.kind == "api":
                    from export_review.api.template import QueryTemplate

                    self.api.publish(tx, current, QueryTemplate.load(out), actor)
                self._move(tx, current, RequestStatus.RELEASED, actor, None,
                           inputs=[("file", request.product_name, request.product_sha256)],
                           outputs=[("release", export_id, body["sha256"])])
        except BaseException:
            out.unlink(missing_ok=True)
            manifest_path.unlink(missing_ok=True)
            raise
        return Released(export_id, str(out), str(manifest_path), body["sha256"], body)

    def _check_releasable(self, request: ExportRequest) -> list[dict]:
        results = self.checks(request)
        if not results or any(r.status == CheckStatus.FAILED for r in results):
            raise ChecksNotPassed()
        approvals = [v for v in self.votes(request) if v.decision == Decision.APPROVE]
        if len({v.reviewer for v in approvals}) < REQUIRED_REVIEWS.get(request.kind, 2):
            raise ChecksNotPassed("the request lacks the required independent approvals")
        try:
            grant = self.grants.grant(request.grant_id)
        except KeyError:
            raise ChecksNotPassed(f"grant {request.grant_id} no longer exists") from None
        if not grant.active or request.scenario not in grant.scenarios:
            raise ChecksNotPassed(f"grant {request.grant_id} is not active for this scenario any more: "
                                  "nothing is released under it")
        return [{"id": v.reviewer, "decided_at": v.decided_at} for v in approvals]

    def _manifest(self, request: ExportRequest, actor: Any, approvers: list[dict], out: Path, scheme: str) -> dict:
        return {
            "request_id": request.id, "kind": request.kind, "title": request.title, "file": out.name,
            "sha256": manifests.sha256_file(out), "product_sha256": request.product_sha256,
            "version": request.version, "operator": request.org, "requester": request.requester,
            "grant_id": request.grant_id, "scenario": request.scenario, "reviewers": approvers,
            "released_by": actor.id, "released_at": self._now(),
            "checks": {r.rule: r.status.value for r in self.checks(request)},
            "watermark": {"scheme": scheme, "key": "HMAC-SHA256(HKDF(export signing key), request_id)"},
        }

    def download(self, actor: Any, export_id: str) -> Path:
        """The file a person may take: the released copy (requester, authority, regulator) or,
        during review, the checked product (independent reviewers). Audited."""
        request = self.get(export_id)
        if not perm.can_download(actor, request):
            self._refuse(actor, DOWNLOAD_EVENT, request, request.org, perm.why_not("download", actor, request))
        path = (self.home / "exports" / export_id / "release" / request.product_name
                if request.status == RequestStatus.RELEASED else self.product_path(request))
        with self.uow.transaction() as tx:
            tx.audit(self._event(DOWNLOAD_EVENT, actor, request,
                                 outputs=[("file", path.name, manifests.sha256_file(path))]))
        return path

    def public_key(self):
        return keys.load_or_create(self.home).public_key()

    def verify(self, file: Path | str, manifest_path: Path | str | None = None) -> dict:
        """Check a released file against its signed manifest (the file's sibling manifest.json
        by default); returns the manifest. Raises ManifestInvalid."""
        file = Path(file)
        if not file.is_file():
            raise ManifestInvalid(f"{file.name} does not exist")
        path = Path(manifest_path) if manifest_path else file.parent / "manifest.json"
        signed = manifests.load(path)
        body = manifests.verify_file(file, signed, self.public_key())
        if body.get("file") != file.name and manifest_path is None:
            raise ManifestInvalid(f"the manifest describes {body.get('file')}, not {file.name}")
        return body

    def trace(self, leaked: Path | str) -> Trace:
        """Which request (and so which operator) a leaked copy comes from: an exact copy by its
        hash, an altered one by its keyed watermark."""
        leaked = Path(leaked)
        if not leaked.is_file():
            raise NotFound(f"{leaked.name} does not exist")
        rows = self.uow.all("SELECT r.request_id, r.sha256, q.org FROM export_releases r "
                            "JOIN export_requests q ON q.id = r.request_id ORDER BY r.released_at")
        digest = manifests.sha256_file(leaked)
        for row in rows:
            if row["sha256"] == digest:
                return Trace(row["request_id"], row["org"], "sha256", 0.0, 1, 1)
        signing = keys.load_or_create(self.home)
        best = None
        for row in rows:
            evidence = watermark.read_evidence(leaked, keys.watermark_key(signing, row["request_id"]))
            if best is None or evidence.p_value < best[0].p_value:
                best = (evidence, row)
        if best is None or best[0].p_value > TRACE_P_VALUE:
            raise WatermarkNotFound("no released request's watermark is present in this file")
        evidence, row = best
        return Trace(row["request_id"], row["org"], evidence.scheme, evidence.p_value, evidence.matches, evidence.marks)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
