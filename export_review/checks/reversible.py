"""Rule `reversible`: product columns from which raw values can be restored.

* Encodings and simple ciphers (hex, base64, reversal, ROT13, character shifts, digit
  rotations) are inverted on a sample of each product column's values, and the candidates are
  looked up among the raw values of every granted column, inside the engine.
* Hashes cannot be inverted, so they are recomputed: for a column shaped like MD5, SHA-1,
  SHA-2 digests (hex or base64), the same hash of every raw identifier is computed inside the
  engine and compared. A digest column that matches nothing is still blocked: a hash with a
  fixed or secret salt is a linkable pseudonym that a salt-holder can reverse by recomputation.
* Columns that decode to random-looking whole cipher blocks (Presidio's `encrypt` writes
  base64 of IV + AES-CBC blocks) are reversible by whoever holds the key: blocked.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

from export_review.checks._sql import family, q
from export_review.checks.base import CheckContext, CheckResult, CheckStatus, Finding
from export_review.checks.engine import product_columns, product_sample, raw_keys, text_key
from export_review.checks.transforms import as_hex_digest, candidates, ciphertext_shape, digest_shape

RULE = "reversible"
MATCH_SHARE = 0.5
MIN_MATCHES = 3
NATIVE = {"md5", "sha1", "sha256"}


def check(ctx: CheckContext) -> CheckResult:
    samples = _text_samples(ctx)
    findings: list[Finding] = []
    digests, plain = {}, {}
    for pcol, values in samples.items():
        algorithm = digest_shape(values)
        if algorithm:
            digests[pcol] = algorithm
        elif ciphertext_shape(values):
            findings.append(_cipher_finding(pcol, len(values)))
        else:
            plain[pcol] = values
    findings += _decoded_findings(ctx, plain)
    for pcol, algorithm in digests.items():
        ctx.check_time()
        findings.append(_digest_finding(ctx, pcol, algorithm, samples[pcol]))
    if not findings:
        findings = [Finding("reversible.none", "no column is an encoding, hash or ciphertext of raw "
                            "values", CheckStatus.PASSED)]
    return CheckResult.of(RULE, findings)


def _text_samples(ctx: CheckContext) -> dict[str, list[str]]:
    product_sample(ctx)
    texts = {c for c, t in product_columns(ctx) if family(t) == "text"}
    out: dict[str, list[str]] = {}
    for pcol, v in ctx.cache["con"].execute("SELECT pcol, v FROM sample_long").fetchall():
        if pcol in texts and v is not None and v.strip():
            out.setdefault(pcol, []).append(v)
    return out


def _raw_text_columns(ctx: CheckContext):
    for ds in ctx.raw.datasets():
        for col in ds.columns:
            if col.column_class != "other" or family(col.dtype) == "text":
                yield ds, col


def _decoded_findings(ctx: CheckContext, plain: dict[str, list[str]]) -> list[Finding]:
    con = ctx.cache["con"]
    rows = [(pcol, name, cand) for pcol, values in plain.items() for name, cand in candidates(values)]
    if not rows:
        return []
    pcols, names, cands = zip(*rows)
    con.register("cand_arrow", pa.table({"pcol": pcols, "t": names, "d": cands}))
    con.execute("CREATE OR REPLACE TEMP TABLE cand AS SELECT DISTINCT pcol, t, hash(d) AS h, d "
                "FROM cand_arrow")
    con.unregister("cand_arrow")
    findings = []
    for ds, col in _raw_text_columns(ctx):
        ctx.check_time()
        table, keys = raw_keys(ctx, ds)
        if col.name not in keys:
            continue
        hits = con.execute(
            f"SELECT c.pcol, c.t, count(DISTINCT c.d) FROM cand c SEMI JOIN {table} r "
            f"ON r.{text_key(keys, col.name)} = c.h GROUP BY 1, 2").fetchall()
        for pcol, transform, n in hits:
            if n >= max(MIN_MATCHES, MATCH_SHARE * len(plain[pcol])):
                findings.append(_decoded_finding(pcol, transform, n, len(plain[pcol]), ds.name, col))
    return _strongest(findings)


def _strongest(findings: list[Finding]) -> list[Finding]:
    """One finding per product column: the transform that restored the most values."""
    best: dict[str, Finding] = {}
    for f in findings:
        if f.column not in best or (f.rows or 0) > (best[f.column].rows or 0):
            best[f.column] = f
    return list(best.values())


def _decoded_finding(pcol, transform, n, sampled, dataset, col) -> Finding:
    return Finding(
        "reversible.encoding",
        f"column {pcol!r} is {transform} of raw {dataset}.{col.name}: {n} of {sampled} sampled "
        "values decode to raw values. An encoding is not desensitization; remove the column.",
        column=pcol, rows=n, entity=col.entity, source=f"{dataset}.{col.name}",
        method=f"inverse {transform} on product values, looked up among raw values inside the engine",
        fix=f"remove column {pcol!r} or replace it by an aggregate",
        details={"sampled": sampled})


def _cipher_finding(pcol: str, sampled: int) -> Finding:
    return Finding(
        "reversible.ciphertext",
        f"column {pcol!r} looks like reversible encryption output (random whole 16-byte cipher "
        "blocks, as AES-CBC/Presidio encrypt writes): whoever holds the key restores the raw "
        "values. Remove the column.",
        column=pcol, rows=sampled, method="base64/hex decoding, block length and byte entropy",
        fix=f"remove column {pcol!r}")


def _digest_finding(ctx: CheckContext, pcol: str, algorithm: str, values: list[str]) -> Finding:
    name = algorithm.split(" ")[0]
    wanted = {as_hex_digest(v) for v in values}
    for ds in ctx.raw.datasets():
        for col in ds.columns:
            if not col.is_identifier:
                continue
            hits = _recompute(ctx, ds.relation, col.name, name, wanted)
            if hits:
                return Finding(
                    "reversible.hash",
                    f"column {pcol!r} is the unsalted {name.upper()} of raw {ds.name}.{col.name} "
                    f"({col.entity or 'identifier'}): {hits} of {len(wanted)} sampled values recomputed. "
                    "Anyone can hash every candidate identifier and reverse it; remove the column.",
                    column=pcol, rows=hits, entity=col.entity, source=f"{ds.name}.{col.name}",
                    method=f"{name}(raw value) recomputed inside the engine",
                    fix=f"remove column {pcol!r}", details={"sampled": len(wanted)})
    return Finding(
        "reversible.hash_unverified",
        f"column {pcol!r} looks like {algorithm} digests that match no unsalted hash of a raw "
        "identifier: a hash with a fixed or secret salt is still a linkable pseudonym that the salt "
        "holder reverses by recomputation. Hashed identifiers are never exported; remove the column.",
        column=pcol, rows=len(wanted), method="digest shape; recomputation found no unsalted match",
        fix=f"remove column {pcol!r}")


def _recompute(ctx: CheckContext, relation: str, column: str, name: str, wanted: set[str]) -> int:
    con = ctx.cache["con"]
    if name not in NATIVE:
        _register_hash(con, name)
    con.register("wanted_arrow", pa.table({"d": sorted(wanted)}))
    try:
        return con.execute(
            f"SELECT count(DISTINCT w.d) FROM wanted_arrow w JOIN {q(relation)} r "
            f"ON lower({name}(CAST(r.{q(column)} AS VARCHAR))) = w.d").fetchall()[0][0]
    finally:
        con.unregister("wanted_arrow")


def _register_hash(con, name: str) -> None:
    from duckdb.sqltypes import VARCHAR

    def fn(values: pa.Array) -> pa.Array:
        return pa.array([None if v is None else hashlib.new(name, v.encode()).hexdigest()
                         for v in values.to_pylist()], pa.string())
    try:
        con.create_function(name, fn, [VARCHAR], VARCHAR, type="arrow")
    except Exception:  # already registered on this connection
        pass
