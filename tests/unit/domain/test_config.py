import pytest

from domain.config import MAX_GRANT_DAYS, DomainConfig
from domain.errors import InvalidInput


def test_defaults_round_trip(tmp_path):
    path = tmp_path / "domain.toml"
    DomainConfig().dump(path)
    assert DomainConfig.load(path) == DomainConfig()


@pytest.mark.parametrize(
    "setting",
    [
        "min_group_size = 3",
        f"max_grant_days = {MAX_GRANT_DAYS + 1}",
        'engine = "sqlite"',
        "unknown_thing = 1",
        "round_to = 0",
        'min_group_size = "ten"',
        "min_group_size = 12.5",
        "round_to = true",
        'query_timeout_seconds = "soon"',
        "engine = 1",
        "name = []",
    ],
)
def test_protective_settings_cannot_be_loosened(tmp_path, setting):
    path = tmp_path / "domain.toml"
    path.write_text(setting + "\n")
    with pytest.raises(InvalidInput):
        DomainConfig.load(path)


def test_malformed_toml_is_one_clear_error(tmp_path):
    path = tmp_path / "domain.toml"
    path.write_text("min_group_size = = 3\n")
    with pytest.raises(InvalidInput, match="not valid TOML"):
        DomainConfig.load(path)
