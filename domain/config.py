"""Domain configuration, kept in `domain.toml` in the home.

Settings that protect people have floors or ceilings that configuration cannot cross: a
smaller minimum group size or a longer grant term is refused, not clamped silently.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from domain.errors import InvalidInput

MAX_GRANT_DAYS = 3 * 365 + 1  # R9: a term of at most three years (one leap day included)
MIN_GROUP_SIZE_FLOOR = 5


@dataclass(frozen=True)
class DomainConfig:
    name: str = "aod"
    # Disclosure control on query results (domain-wide defaults; a dataset may be stricter).
    min_group_size: int = 10
    suppress_below: int = 10
    round_to: int = 5
    # Query engine.
    engine: str = "duckdb"
    query_timeout_seconds: float = 60.0
    query_memory_limit: str = "4GB"
    max_result_rows: int = 100_000
    spark_master: str = "local[2]"
    spark_connect_url: str = ""
    raw_cache_bytes: int = 2 << 30     # decrypted columns kept in the server's memory (0: none)
    # Identity.
    token_ttl_hours: int = 12
    login_max_failures: int = 5        # failed logins in a row before a user id is locked
    login_lockout_minutes: int = 15
    # Grants.
    max_grant_days: int = MAX_GRANT_DAYS
    # Samples for tenants.
    sample_rows: int = 5000
    sample_fraction: float = 0.2
    sample_k: int = 5
    # Tenants.
    tenant_backend: str = "bwrap"

    def __post_init__(self) -> None:
        self._check_types()
        if self.min_group_size < MIN_GROUP_SIZE_FLOOR:
            raise InvalidInput(
                f"min_group_size {self.min_group_size} is below the floor of {MIN_GROUP_SIZE_FLOOR}"
            )
        if not 0 < self.max_grant_days <= MAX_GRANT_DAYS:
            raise InvalidInput(
                f"max_grant_days {self.max_grant_days} exceeds the legal maximum of three years"
            )
        if self.suppress_below < 0 or self.round_to < 1:
            raise InvalidInput("suppress_below must be >= 0 and round_to >= 1")
        if self.engine not in ("duckdb", "spark"):
            raise InvalidInput(f"engine must be 'duckdb' or 'spark', not {self.engine!r}")
        if self.tenant_backend not in ("bwrap", "docker"):
            raise InvalidInput("tenant_backend must be 'bwrap' or 'docker'")
        if self.raw_cache_bytes < 0:
            raise InvalidInput("raw_cache_bytes must be >= 0 (0 keeps nothing decrypted in memory)")
        if not 1 <= self.login_max_failures <= 100 or not 1 <= self.login_lockout_minutes <= 1440:
            raise InvalidInput("login_max_failures must be 1-100 and login_lockout_minutes 1-1440")
        if self.sample_k < 2 or not 0 < self.sample_fraction <= 1:
            raise InvalidInput("sample_k must be >= 2 and sample_fraction in (0, 1]")

    def _check_types(self) -> None:
        """Each setting has its declared type (a bool is not a number, an int is a float)."""
        accepted = {"int": (int,), "float": (int, float), "str": (str,)}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, accepted[str(f.type)]):
                raise InvalidInput(f"setting {f.name} must be of type {f.type}, not {type(value).__name__}")

    @classmethod
    def load(cls, path: Path) -> "DomainConfig":
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"{path.name} is not valid TOML: {exc}") from None
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise InvalidInput(f"{path.name}: unknown setting(s): {', '.join(unknown)}")
        try:
            return cls(**raw)
        except TypeError as exc:
            raise InvalidInput(f"{path.name}: {exc}") from None

    def dump(self, path: Path) -> None:
        lines = ["# aod domain configuration. Floors and ceilings are enforced on load."]
        for key, value in asdict(self).items():
            if isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            else:
                lines.append(f"{key} = {value}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
