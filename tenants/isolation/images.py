"""The images built by docker/build.sh, named by the content hash of their inputs.

`docker/build.sh` asks this module (`python3 -m tenants.isolation.images digest ROLE`) for the
digest of each image's inputs and tags the image `aod/ROLE:DIGEST`; `resolve()` finds that
exact tag and returns the image id, which containers are then pinned to. An image not built
from this repository's docker/ (wrong label, stale digest) is refused, and nothing is pulled.
`AOD_TENANT_IMAGE=sha256:…` pins an image id explicitly (a deployment without the repo).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from tenants.errors import ImageMissing

REPO = Path(__file__).resolve().parents[2]
LABEL = "org.aod.image"
INPUTS_LABEL = "org.aod.inputs"

# Files and folders (relative to the repo) whose content decides each image.
INPUTS: dict[str, tuple[str, ...]] = {
    "base": ("docker/base",),
    "tenant": ("docker/base", "docker/tenant", "tenants/sdk", "tenants/jupyter/config"),
    "domain": ("docker/base", "docker/domain", "pyproject.toml", "README.md",
               "audit", "desensitize", "domain", "export_review", "tenants"),
}
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")


def _files(root: Path, rel: str) -> list[Path]:
    path = root / rel
    if path.is_file():
        return [path]
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        found.extend(Path(dirpath) / f for f in filenames if not f.endswith(_SKIP_SUFFIXES))
    return found


def inputs_digest(role: str, root: Path = REPO) -> str:
    """A 20-hex-digit digest of every input file of `role` (names and contents)."""
    if role not in INPUTS:
        raise ValueError(f"unknown image role {role!r}")
    outer = hashlib.sha256(role.encode())
    files = sorted({f for rel in INPUTS[role] for f in _files(root, rel)})
    for f in files:
        outer.update(f.relative_to(root).as_posix().encode() + b"\0")
        outer.update(hashlib.sha256(f.read_bytes()).digest())
    return outer.hexdigest()[:20]


def tag(role: str, root: Path = REPO) -> str:
    return f"aod/{role}:{inputs_digest(role, root)}"


def resolve(client, role: str = "tenant", root: Path = REPO) -> str:
    """The id (`sha256:…`) of the image built from docker/ for `role`; never pulls.

    Raises `ImageMissing` when the image is absent, stale, or not built by docker/build.sh.
    """
    import docker.errors

    pinned = os.environ.get(f"AOD_{role.upper()}_IMAGE", "")
    ref = pinned or tag(role, root)
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        raise ImageMissing(f"image {ref} is not built: run docker/build.sh") from None
    except docker.errors.DockerException as exc:
        raise ImageMissing(f"cannot inspect image {ref} ({type(exc).__name__})") from None
    labels = image.labels or {}
    if labels.get(LABEL) != role:
        raise ImageMissing(f"image {ref} was not built by docker/build.sh as the {role} image")
    if pinned and not pinned.startswith("sha256:"):
        raise ImageMissing(f"AOD_{role.upper()}_IMAGE must be an image id (sha256:...)")
    return image.id


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "digest":
        print(inputs_digest(argv[1]))
        return 0
    if len(argv) == 2 and argv[0] == "tag":
        print(tag(argv[1]))
        return 0
    print("usage: python3 -m tenants.isolation.images digest|tag base|tenant|domain", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
