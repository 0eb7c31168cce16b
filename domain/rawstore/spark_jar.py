"""The Spark side of the raw store: a tiny Parquet KMS client class, shipped as a jar.

The jar is built from `java/aod/rawstore/AodKmsClient.java` and committed next to it. Its
manifest records the SHA-256 of the source it was built from; `kms_jar()` returns the
committed jar when it matches the source, else rebuilds it with `javac` into a cache folder.
Rebuild by hand: `python -m domain.rawstore.spark_jar`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from domain.rawstore.errors import RawStoreError

HERE = Path(__file__).resolve().parent / "java"
SOURCE = HERE / "aod" / "rawstore" / "AodKmsClient.java"
JAR = HERE / "aod-rawstore-kms.jar"
HASH_KEY = "Aod-Source-SHA256"


def source_sha256() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def jar_source_sha256(jar: Path) -> str | None:
    try:
        with zipfile.ZipFile(jar) as archive:
            text = archive.read("META-INF/MANIFEST.MF").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    unfolded = text.replace("\r\n", "\n").replace("\n ", "")  # manifest lines wrap at 72 bytes
    for line in unfolded.splitlines():
        if line.startswith(HASH_KEY + ":"):
            return line.split(":", 1)[1].strip()
    return None


def kms_jar() -> Path:
    expected = source_sha256()
    if jar_source_sha256(JAR) == expected:
        return JAR
    cached = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aod" / f"kms-{expected[:16]}.jar"
    if jar_source_sha256(cached) != expected:
        build(cached)
    return cached


def _spark_classpath() -> str:
    import pyspark

    jars = Path(pyspark.__file__).resolve().parent / "jars"
    return os.pathsep.join(str(p) for p in sorted(jars.glob("*.jar")))


def build(dest: Path) -> Path:
    javac, jar = shutil.which("javac"), shutil.which("jar")
    if not javac or not jar:
        raise RawStoreError("the Spark KMS jar is stale and no JDK (javac, jar) is installed to rebuild it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "classes"
        manifest = Path(tmp) / "MANIFEST.MF"
        manifest.write_text(f"{HASH_KEY}: {source_sha256()}\n", encoding="utf-8")
        subprocess.run([javac, "--release", "17", "-nowarn", "-cp", _spark_classpath(), "-d", str(out),
                        str(SOURCE)], check=True, capture_output=True)
        staging = Path(tmp) / "kms.jar"
        subprocess.run([jar, "cfm", str(staging), str(manifest), "-C", str(out), "."],
                       check=True, capture_output=True)
        shutil.move(str(staging), dest)
    return dest


if __name__ == "__main__":  # pragma: no cover - maintenance command
    print(build(JAR))
