"""The domain's security tests use the integration tests' world (one small domain per module)."""

from tests.integration.domain.conftest import world  # noqa: F401
