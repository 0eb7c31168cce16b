"""Tampered logs, each built by a function named after its bug (like sigstore's
`bundle_cve_2022_36056` fixtures), and where the verifier must point.

Every tamper takes a copy of the pristine log (see `build_pristine`) and returns what the
verifier must report: the step and the segment / event / tree head it must name.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from audit import AuditLog
from audit.checkpoint import Checkpoint, Signer, SignedCheckpoint
from audit.layout import segment_name

SEG = 16


@dataclass(frozen=True)
class Expect:
    step: str
    segment: str | None = None
    index: int | None = None
    tree_head: int | None = None
    index_in: tuple[int, ...] = ()   # any of these event numbers


@dataclass
class Pristine:
    dir: Path
    signer: Signer
    saved_segment_32: bytes           # segment 32 when it held only 4 events
    head_before_tail: str             # a tree head a regulator kept (covers events 0..size-1)
    size: int


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _seg(log_dir: Path, first: int) -> Path:
    return log_dir / "segments" / f"{segment_name(first)}.jsonl"


def _head_path(log_dir: Path, size: int) -> Path:
    return log_dir / "checkpoints" / f"{size:012d}.ckpt"


# -- the tampers --------------------------------------------------------------------------
def flipped_byte_in_sealed_event(d: Path, p: Pristine) -> Expect:
    lines = _lines(_seg(d, 0))
    lines[5] = _altered(lines[5])  # still valid JSON, same length
    _write_lines(_seg(d, 0), lines)
    return Expect("roots", segment_name(0), 5)


def _altered(line: bytes) -> bytes:
    changed = line.replace(b'"outcome":"ok"', b'"outcome":"no"')
    assert changed != line
    return changed


def flipped_byte_in_sealed_event_and_its_node_file(d: Path, p: Pristine) -> Expect:
    """The attacker also rewrote the append-time hashes: the signed root still catches it."""
    flipped_byte_in_sealed_event(d, p)
    (d / "segments" / f"{segment_name(0)}.tree").write_bytes(b"")
    return Expect("roots", tree_head=16)


def flipped_byte_in_event_after_the_last_tree_head(d: Path, p: Pristine) -> Expect:
    last = p.size - 1
    first = last - last % SEG
    lines = _lines(_seg(d, first))
    lines[-1] = _altered(lines[-1])
    _write_lines(_seg(d, first), lines)
    return Expect("records", segment_name(first), last)


def deleted_event(d: Path, p: Pristine) -> Expect:
    lines = _lines(_seg(d, 0))
    del lines[5]
    _write_lines(_seg(d, 0), lines)
    return Expect("records", segment_name(0), 5)


def reordered_events(d: Path, p: Pristine) -> Expect:
    lines = _lines(_seg(d, 16))
    lines[3], lines[4] = lines[4], lines[3]
    _write_lines(_seg(d, 16), lines)
    return Expect("records", segment_name(16), 19)


def duplicated_event(d: Path, p: Pristine) -> Expect:
    lines = _lines(_seg(d, 16))
    lines.insert(7, lines[6])
    _write_lines(_seg(d, 16), lines)
    return Expect("records", segment_name(16), 23)


def truncated_sealed_segment(d: Path, p: Pristine) -> Expect:
    _write_lines(_seg(d, 16), _lines(_seg(d, 16))[:10])
    return Expect("segments", segment_name(16), 26)


def truncated_last_segment_under_a_tree_head(d: Path, p: Pristine) -> Expect:
    first = (p.size - 1) - (p.size - 1) % SEG
    path = _seg(d, first)
    _write_lines(path, _lines(path)[:2])
    latest = max(int(x.stem) for x in (d / "checkpoints").glob("*.ckpt"))
    return Expect("roots", tree_head=latest)


def deleted_segment(d: Path, p: Pristine) -> Expect:
    _seg(d, 16).unlink()
    return Expect("segments", segment_name(16))


def spliced_older_copy_of_a_segment(d: Path, p: Pristine) -> Expect:
    _seg(d, 32).write_bytes(p.saved_segment_32)
    return Expect("segments", segment_name(32), 36)


def spliced_copy_of_another_segment(d: Path, p: Pristine) -> Expect:
    shutil.copy(_seg(d, 0), _seg(d, 16))
    return Expect("records", segment_name(16), 16)


def dropped_tree_head(d: Path, p: Pristine) -> Expect:
    _head_path(d, 24).unlink()
    return Expect("tree heads", tree_head=32)


def dropped_boundary_tree_head(d: Path, p: Pristine) -> Expect:
    _head_path(d, 32).unlink()
    return Expect("rules", segment_name(16), tree_head=32)


def replaced_tree_head_file(d: Path, p: Pristine) -> Expect:
    shutil.copy(_head_path(d, 16), _head_path(d, 24))
    return Expect("tree heads", tree_head=24)


def tree_head_with_altered_root(d: Path, p: Pristine) -> Expect:
    path = _head_path(d, 24)
    lines = path.read_text().split("\n")
    lines[2] = "A" * 43 + "="
    path.write_text("\n".join(lines))
    return Expect("tree heads", tree_head=24)


def tree_heads_signed_with_another_key(d: Path, p: Pristine) -> Expect:
    other = Signer.generate()
    for path in (d / "checkpoints").glob("*.ckpt"):
        head = SignedCheckpoint.from_text(path.read_text())
        path.write_text(head.checkpoint.sign(other).to_text())
    return Expect("tree heads", tree_head=16)


def rewritten_with_the_stolen_log_key(d: Path, p: Pristine) -> Expect:
    """An insider with the signing key rewrites an event and re-signs every tree head:
    internally consistent, so only a tree head the regulator kept can catch it."""
    flipped_byte_in_sealed_event(d, p)
    (d / "segments" / f"{segment_name(0)}.tree").write_bytes(b"")
    (d / "segments" / "ROOTS").write_bytes(b"")
    for path in (d / "checkpoints").glob("*.ckpt"):
        path.unlink()
    log = AuditLog(d, p.signer)  # reopening rebuilds nodes; the signer re-signs a fresh head
    log.checkpoint()
    return Expect("trusted heads", tree_head=Pristine_head_size(p))


def Pristine_head_size(p: Pristine) -> int:  # noqa: N802 - reads like the field it names
    return SignedCheckpoint.from_text(p.head_before_tail).size


def truncated_after_the_regulator_kept_a_head(d: Path, p: Pristine) -> Expect:
    kept = Pristine_head_size(p)
    first = (kept - 1) - (kept - 1) % SEG
    for extra in (d / "segments").glob("*.jsonl"):
        if int(extra.stem) > first:
            extra.unlink()
    _write_lines(_seg(d, first), _lines(_seg(d, first))[:2])
    for path in (d / "checkpoints").glob("*.ckpt"):
        if int(path.stem) > first:
            path.unlink()
    return Expect("trusted heads", tree_head=kept)


def altered_index_leaf_hash(d: Path, p: Pristine) -> Expect:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = next((d / "index").glob(f"{segment_name(16)}_*.parquet"))
    table = pq.read_table(path)
    hashes = table.column("leaf_hash").to_pylist()
    row = table.column("idx").to_pylist().index(20)
    hashes[row] = bytes(32)
    table = table.set_column(table.schema.get_field_index("leaf_hash"), "leaf_hash", pa.array(hashes, pa.binary()))
    pq.write_table(table, path)
    return Expect("index", segment_name(16), 20)


def deleted_anchor_prune_event_reference(d: Path, p: Pristine) -> Expect:
    """Segments removed by hand, with an anchor that names no audit.prune event."""
    import json

    from audit.retention import Anchor

    log = AuditLog.reader(d)
    roots = tuple(log.verified_segment_root(f) for f in (0, 16))
    anchor = Anchor(32, roots, log.checkpoint_at(32), None)
    (d / "anchor.json").write_text(anchor.to_json().decode())
    for f in (0, 16):
        _seg(d, f).unlink()
    for size in (8, 16, 24):
        _head_path(d, size).unlink(missing_ok=True)
    assert json.loads((d / "anchor.json").read_text())["prune_event"] is None
    return Expect("retention", tree_head=32)


TAMPERS: dict[str, Callable[[Path, Pristine], Expect]] = {
    f.__name__: f for f in (
        flipped_byte_in_sealed_event, flipped_byte_in_sealed_event_and_its_node_file,
        flipped_byte_in_event_after_the_last_tree_head, deleted_event, reordered_events,
        duplicated_event, truncated_sealed_segment, truncated_last_segment_under_a_tree_head,
        deleted_segment, spliced_older_copy_of_a_segment, spliced_copy_of_another_segment,
        dropped_tree_head, dropped_boundary_tree_head, replaced_tree_head_file,
        tree_head_with_altered_root, tree_heads_signed_with_another_key,
        rewritten_with_the_stolen_log_key, truncated_after_the_regulator_kept_a_head,
        altered_index_leaf_hash, deleted_anchor_prune_event_reference,
    )
}


def build_pristine(root: Path) -> Pristine:
    """60 events in 16-event segments, a tree head every 8 events, indexed; the last few
    events not yet under a tree head."""
    from tests.unit.audit.conftest import Clock, make_event

    signer, clock = Signer.generate(), Clock()
    d = root / "audit"
    log = AuditLog(d, signer, clock, segment_events=SEG, max_batch=8)
    log.update_settings(checkpoint_every_events=8)
    saved = b""
    for i in range(58):
        clock.advance(seconds=1)
        log.append(make_event(i))
        if log.size() == 36:
            saved = _seg(d, 32).read_bytes()
    kept = log.checkpoint().to_text()
    for i in range(3):
        log.append(make_event(100 + i))
    log.query()  # builds the Parquet index of sealed segments
    return Pristine(d, signer, saved, kept, log.size())
