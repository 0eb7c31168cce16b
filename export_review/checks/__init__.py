"""Automatic checks: named rules returning a frozen `CheckResult(rule, status, findings)`."""

from export_review.checks.base import (
    CheckContext, CheckResult, CheckStatus, Finding, Limits, Product, ProductKind, cannot_decide,
)
from export_review.checks.registry import RULES, CheckReport, register, rules_for, run_checks

__all__ = ["CheckContext", "CheckReport", "CheckResult", "CheckStatus", "Finding", "Limits", "Product",
           "ProductKind", "RULES", "cannot_decide", "register", "rules_for", "run_checks"]
