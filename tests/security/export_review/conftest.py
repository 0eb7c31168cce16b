import pytest

from tests.integration.export_review.fixtures import make_world


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path / "home")
