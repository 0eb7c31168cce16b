import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from export_review.errors import UnsafeModelFile
from export_review.models.safe_format import inspect, is_allowed_type, load, pickle_imports


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_is_refused_without_being_loaded(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(RunsCode(marker)))
    assert inspect(path).format == "pickle"
    assert "posix.system" in pickle_imports(path)
    with pytest.raises(UnsafeModelFile, match="not loaded"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_pickle_imports_are_read_at_every_protocol(tmp_path, protocol):
    path = tmp_path / "m.bin"
    path.write_bytes(pickle.dumps(RunsCode(tmp_path / "x"), protocol=protocol))
    assert any(name.endswith("system") for name in pickle_imports(path))


def test_disguised_pickle_is_still_a_pickle(tmp_path):
    path = tmp_path / "model.skops"  # wrong suffix, pickle inside
    path.write_bytes(pickle.dumps(RunsCode(tmp_path / "x")))
    with pytest.raises(UnsafeModelFile):
        load(path)


def test_skops_with_untrusted_type_is_refused(tmp_path):
    path = tmp_path / "m.skops"
    schema = {"__class__": "system", "__module__": "os", "__loader__": "ObjectNode", "content": {},
              "__id__": 1, "protocol": 2, "_skops_version": "0.16"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
    assert inspect(path).refused == ("os.system",)
    with pytest.raises(UnsafeModelFile, match="allow-list"):
        load(path)


def test_skops_estimator_loads(tmp_path):
    X = np.random.default_rng(0).random((100, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int))
    sio.dump(model, tmp_path / "m.skops")
    assert type(load(tmp_path / "m.skops")).__name__ == "LogisticRegression"


def test_onnx_and_unknown_files_are_refused(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07\x12\x04test")
    (tmp_path / "m.dat").write_bytes(b"hello")
    for name in ("m.onnx", "m.dat"):
        with pytest.raises(UnsafeModelFile):
            load(tmp_path / name)


@pytest.mark.parametrize("name,ok", [
    ("sklearn.linear_model._logistic.LogisticRegression", True), ("numpy.ndarray", True),
    ("builtins.dict", True), ("builtins.eval", False), ("builtins.getattr", False), ("os.system", False),
    ("subprocess.Popen", False), ("numpy.load", False), ("sklearn.utils._private", False),
    ("pickle.loads", False), ("torch.load", False),
])
def test_allow_list(name, ok):
    assert is_allowed_type(name) is ok
