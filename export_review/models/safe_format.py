"""Model files are accepted only in a safe format, and never loaded before they are inspected.

* skops (`.skops`, a zip with `schema.json`): every type named in the schema is read from the
  JSON (nothing is constructed) and must be on our allow-list (scikit-learn estimators and
  their parts, NumPy arrays and dtypes, plain containers). Only then is the file loaded, with
  exactly those types trusted.
* pickle, joblib, torch and friends: refused without being loaded. Their opcodes are read with
  `pickletools.genops` (a parser: nothing is imported or called) to tell the reviewer which
  callables the file would import, e.g. `posix.system`.
* ONNX: recognised, but refused here until an ONNX runtime is part of the domain.
"""

from __future__ import annotations

import json
import pickletools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from export_review.errors import UnsafeModelFile

PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".sav", ".pt", ".pth", ".bin", ".dill", ".cloudpickle"}
SAFE_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bool", "complex",
                 "slice", "bytes", "NoneType", "type"}
SAFE_NUMPY = {"numpy.ndarray", "numpy.dtype", "numpy.ma.core.MaskedArray", "numpy.random.mtrand.RandomState",
              "numpy.random._generator.Generator", "numpy.random._pcg64.PCG64", "numpy.random._mt19937.MT19937",
              "numpy.random.bit_generator.SeedSequence"}
NUMPY_SCALARS = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "uint16",
                 "uint32", "uint64", "bool_", "str_", "bytes_", "object_", "longlong", "intc"}
# names that must never be trusted, whatever their module
FORBIDDEN = ("eval", "exec", "compile", "system", "popen", "spawn", "fork", "__import__", "getattr",
             "open", "load", "loads", "Unpickler", "subprocess", "os.", "posix", "nt.", "shutil",
             "importlib", "ctypes", "socket", "marshal", "pickle", "runpy", "code.", "pty", "builtins.input")


@dataclass(frozen=True)
class ModelFileInfo:
    format: str                     # skops | pickle | onnx | unknown
    types: tuple[str, ...] = ()     # every type the file names
    refused: tuple[str, ...] = ()   # types outside the allow-list / callables a pickle imports


def is_allowed_type(name: str) -> bool:
    if any(bad in name for bad in FORBIDDEN):
        return False
    module, _, cls = name.rpartition(".")
    if module == "builtins":
        return cls in SAFE_BUILTINS
    if name in SAFE_NUMPY or (module == "numpy" and cls in NUMPY_SCALARS):
        return True
    return module.startswith("sklearn.") and not cls.startswith("_") or name.startswith("scipy.sparse._")


def sniff(path: Path) -> str:
    head = path.read_bytes()[:8]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
        if "schema.json" in names:
            return "skops"
        if any(n.endswith(".pkl") or n.endswith("data.pkl") for n in names):
            return "pickle"
        return "unknown"
    if head[:1] == b"\x80" or path.suffix.lower() in PICKLE_SUFFIXES:
        return "pickle"
    if path.suffix.lower() == ".onnx" or head[:2] == b"\x08\x03" or head[:2] == b"\x08\x07":
        return "onnx"
    return "unknown"


def inspect(path: Path) -> ModelFileInfo:
    path = Path(path)
    fmt = sniff(path)
    if fmt == "skops":
        types = skops_types(path)
        return ModelFileInfo("skops", types, tuple(t for t in types if not is_allowed_type(t)))
    if fmt == "pickle":
        return ModelFileInfo("pickle", (), pickle_imports(path))
    return ModelFileInfo(fmt)


def skops_types(path: Path) -> tuple[str, ...]:
    try:
        with zipfile.ZipFile(path) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError):
        raise UnsafeModelFile(f"{path.name}: the skops schema cannot be read") from None
    found: set[str] = set()
    _walk(schema, found)
    return tuple(sorted(found))


def _walk(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        if "__module__" in node and "__class__" in node:
            found.add(f"{node['__module__']}.{node['__class__']}")
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def pickle_imports(path: Path, limit: int = 200_000) -> tuple[str, ...]:
    """Callables a pickle stream would import, read from its opcodes without executing them."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            data = b"".join(z.read(n) for n in z.namelist() if n.endswith(".pkl"))
    found, strings = [], []
    try:
        for i, (op, arg, _) in enumerate(pickletools.genops(data)):
            if i > limit:
                break
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
            elif op.name == "GLOBAL":
                found.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # truncated or not a pickle: what was read so far is the evidence
        pass
    return tuple(dict.fromkeys(found))


def load(path: Path) -> Any:
    """Load a model after inspection; raises `UnsafeModelFile` for anything but safe skops."""
    path = Path(path)
    info = inspect(path)
    if info.format == "pickle":
        shown = ", ".join(info.refused[:5]) or "no callables found"
        raise UnsafeModelFile(f"{path.name} is a pickle (it was not loaded): loading a pickle runs "
                              f"code; this one imports {shown}. Save the model with skops.io.dump")
    if info.format == "onnx":
        raise UnsafeModelFile(f"{path.name} is ONNX, which this domain cannot check yet; save the "
                              "model with skops.io.dump")
    if info.format != "skops":
        raise UnsafeModelFile(f"{path.name} is not a model format the domain accepts (skops)")
    if info.refused:
        raise UnsafeModelFile(f"{path.name} names types outside the allow-list: "
                              f"{', '.join(info.refused[:5])}")
    import skops.io as sio

    try:
        return sio.load(path, trusted=list(info.types))
    except Exception as exc:
        raise UnsafeModelFile(f"{path.name} could not be loaded by skops ({type(exc).__name__})") from None
