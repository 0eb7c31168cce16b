"""Errors the SDK raises. Every one has `diagnostics()`: one line to show a person.

A refusal carries the policy's reason, e.g.::

    try:
        client.query("select id_number from population")
    except RefusedError as e:
        print(e.reason)   # column population.id_number is a direct identifier ...
"""

from __future__ import annotations


class SDKError(Exception):
    """Base of every error of the aod client SDK."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def diagnostics(self) -> str:
        return self.reason


class RefusedError(SDKError):
    """The domain's policy refused the request; `reason` says why."""


class NotFoundError(SDKError):
    """No such sample, job or output for this tenant."""


class BadRequestError(SDKError):
    """The request was malformed (bad SQL is a refusal, not this)."""


class GatewayUnavailable(SDKError):
    """The gateway socket is closed: the tenant is suspended, stopped, or being shut down."""


class ServerError(SDKError):
    """The domain failed to answer; the message names only the kind of failure."""
