"""Rule `scenario`: the requested application scenario is one of the grant's, the grant is
active, and the request comes from the grant's operator (R5, R13)."""

from __future__ import annotations

from export_review.checks.base import CheckContext, CheckResult, CheckStatus, Finding, cannot_decide

RULE = "scenario"


def check(ctx: CheckContext) -> CheckResult:
    if ctx.grants is None or not ctx.grant_id:
        return cannot_decide(RULE, "no grant was given to check the scenario against")
    try:
        grant = ctx.grants.grant(ctx.grant_id)
    except KeyError:
        return CheckResult.of(RULE, [Finding("scenario.no_grant", f"grant {ctx.grant_id} does not exist",
                                             fix="submit under one of your operator's grants")])
    findings = []
    if not grant.active:
        findings.append(Finding("scenario.grant_inactive", f"grant {grant.id} is {grant.status}, not "
                                "active: nothing is exported under it", fix="ask the authority to "
                                "renew or resume the grant"))
    if ctx.org is not None and grant.operator_id != ctx.org:
        findings.append(Finding("scenario.wrong_operator", f"grant {grant.id} belongs to another "
                                "operator", fix="submit under one of your operator's grants"))
    if (ctx.scenario or "").strip() not in grant.scenarios:
        findings.append(Finding("scenario.not_granted", f"the requested application scenario is not "
                                f"one of grant {grant.id}'s ({len(grant.scenarios)} granted)",
                                fix="choose the grant's scenario; a new scenario needs a new grant"))
    if not findings:
        findings.append(Finding("scenario.ok", f"scenario granted by active grant {grant.id}",
                                CheckStatus.PASSED))
    return CheckResult.of(RULE, findings)
