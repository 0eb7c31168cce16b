"""API generation (接口生成): an approved query template becomes a read-only endpoint with typed
parameters, a rate limit, the domain's policy on every call and an audit event per call."""

from export_review.api.gateway import ApiGateway, Endpoint
from export_review.api.ratelimit import RateLimiter
from export_review.api.template import Param, QueryTemplate

__all__ = ["ApiGateway", "Endpoint", "Param", "QueryTemplate", "RateLimiter"]
