"""Errors of export_review: one base class with `diagnostics()`, typed one-line subclasses.

Messages describe values by column, row number, entity type or rule name, never by the value.
"""

from __future__ import annotations


class ExportReviewError(Exception):
    """Base of every user-facing error of export_review."""

    http_status = 400

    def __init__(self, message: str = ""):
        super().__init__(message or self.__doc__ or type(self).__name__)
        self.message = message or (self.__doc__ or type(self).__name__).strip()

    def diagnostics(self) -> str:
        return f"{type(self).__name__}: {self.message}".splitlines()[0]


class InvalidInput(ExportReviewError):
    """The input is malformed."""


class NotFound(ExportReviewError):
    """No such export request."""

    http_status = 404


class PermissionDenied(ExportReviewError):
    """You may not do this."""

    http_status = 403


class InvalidTransition(ExportReviewError):
    """The request cannot move to that status."""

    http_status = 409


class ChecksNotPassed(ExportReviewError):
    """Automatic checks have failed or have not run: the product cannot be approved or released."""

    http_status = 409


class UnsafeModelFile(ExportReviewError):
    """The model file is not in a safe format; it was not loaded."""


class ProductUnreadable(ExportReviewError):
    """The product file cannot be read."""


class ManifestInvalid(ExportReviewError):
    """The file does not match its signed manifest."""


class WatermarkNotFound(ExportReviewError):
    """No known watermark was found in the file."""

    http_status = 404


class TemplateError(ExportReviewError):
    """The query template is malformed."""


class RateLimited(ExportReviewError):
    """Too many calls: try again later."""

    http_status = 429


class CsrfError(ExportReviewError):
    """The form is stale or was not sent from this site: reload the page and try again."""

    http_status = 403
