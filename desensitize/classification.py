"""Column classification (分类分级): from a sample, per column a class, an entity, a confidence
and the evidence, in a reviewable file that the data provider confirms or overrides.

Evidence comes from three places:
1. the column name (`cues.cue_for`: Chinese, pinyin initials, English);
2. vectorized value checks over the whole sample (`vector.cell_entities`, and for free text
   `detect.text_candidates`): what fraction of values is a valid ID number, mobile…;
3. Presidio (`analyzer.analyze_values`) over a small sub-sample, whose
   `AnalysisExplanation`s are kept for reviewers.

Decision (first rule that applies): an empty column follows its name or is sensitive; most
values are identifiers → direct identifier; the name says direct identifier → direct
identifier (fail closed even if the values disagree); free text → direct identifier if
identifiers are embedded, else sensitive; some identifiers in an otherwise ordinary column →
sensitive (cannot decide: fail closed); the name says quasi-identifier or sensitive → so;
otherwise other. A checksum that random numbers pass by chance (Luhn 1 in 10) counts only
when most values of the right shape pass it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional, Union

import pyarrow as pa
import pyarrow.compute as pc

from .cues import Cue, cue_for
from .entities import (CHECKSUMMED, ENTITY_INFO, ColumnClass, Entity, Grade, class_from_name,
                       entity_from_name)
from .errors import ClassificationError, InputError

FORMAT_VERSION = 1
DI_MAJORITY = 0.8  # share of values that are identifiers for a direct-identifier column
MIXED_SHARE = 0.02  # share of identifiers that makes an ordinary column undecidable
NAME_DISTINCT = 0.3  # a column of names has many distinct values (学历 "高中" is not a name)
TEXT_LENGTH = 12  # average characters from which a column is treated as free text
CHECK_METHOD = {
    Entity.RESIDENT_ID: "ISO 7064 MOD 11-2 check character and birth date",
    Entity.CREDIT_CODE: "GB 32100 check character",
    Entity.BANK_CARD: "Luhn check digit",
}
D, Q, S, O = (ColumnClass.DIRECT_IDENTIFIER, ColumnClass.QUASI_IDENTIFIER, ColumnClass.SENSITIVE,
              ColumnClass.OTHER)


@dataclass(frozen=True)
class ColumnProfile:
    """What one column is, how sure we are, and why (never a value)."""

    name: str
    column_class: ColumnClass
    entity: Optional[Entity]
    confidence: float
    evidence: tuple[str, ...]
    explanations: tuple[dict, ...] = ()
    non_null: int = 0
    distinct_ratio: float = 0.0
    value_shares: tuple[tuple[str, float], ...] = ()
    decided_by: str = "auto"  # "auto" | "provider"
    reason: Optional[str] = None
    confirmed: bool = False
    confirmed_by: Optional[str] = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["column_class"] = self.column_class.value
        d["entity"] = self.entity.value if self.entity else None
        d["evidence"] = list(self.evidence)
        d["explanations"] = list(self.explanations)
        d["value_shares"] = {k: v for k, v in self.value_shares}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ColumnProfile":
        try:
            return cls(
                name=str(d["name"]), column_class=class_from_name(d["column_class"]),
                entity=entity_from_name(d["entity"]) if d.get("entity") else None,
                confidence=float(d.get("confidence", 0.0)), evidence=tuple(map(str, d.get("evidence", ()))),
                explanations=tuple(d.get("explanations", ())), non_null=int(d.get("non_null", 0)),
                distinct_ratio=float(d.get("distinct_ratio", 0.0)),
                value_shares=tuple(sorted((str(k), float(v)) for k, v in dict(d.get("value_shares", {})).items())),
                decided_by=str(d.get("decided_by", "auto")), reason=d.get("reason"),
                confirmed=bool(d.get("confirmed", False)), confirmed_by=d.get("confirmed_by"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ClassificationError(f"a column entry is invalid ({type(exc).__name__})") from None


@dataclass(frozen=True)
class Classification:
    """Per-column classes of one dataset; `grade` follows from them."""

    source: str
    columns: tuple[ColumnProfile, ...]
    rows_sampled: int
    fingerprint: str
    created_at: str
    version: int = FORMAT_VERSION

    @property
    def grade(self) -> Grade:
        return Grade.from_classes(c.column_class for c in self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def is_confirmed(self) -> bool:
        return all(c.confirmed for c in self.columns)

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        raise ClassificationError(f"no column {str(name)[:60]!r} in the classification")

    def of_class(self, column_class: ColumnClass) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.column_class == column_class)

    def override(self, column: str, *, column_class: Union[ColumnClass, str], entity: Union[Entity, str, None] = None,
                 reason: str, by: Optional[str] = None) -> "Classification":
        """The provider sets a column's class (and entity); a reason is required."""
        if not reason or not str(reason).strip():
            raise ClassificationError(f"overriding column {column!r} needs a reason")
        old = self.column(column)
        new = replace(old, column_class=class_from_name(column_class) if isinstance(column_class, str) else column_class,
                      entity=entity_from_name(entity) if isinstance(entity, str) else entity, confidence=1.0,
                      decided_by="provider", reason=" ".join(str(reason).split()), confirmed=True,
                      confirmed_by=by, evidence=old.evidence + (f"overridden by the provider: {reason}",))
        return self._with(new)

    def confirm(self, column: Optional[str] = None, *, by: Optional[str] = None) -> "Classification":
        """The provider confirms one column (or all) as classified."""
        targets = [self.column(column)] if column else list(self.columns)
        result = self
        for c in targets:
            result = result._with(replace(c, confirmed=True, confirmed_by=by))
        return result

    def _with(self, profile: ColumnProfile) -> "Classification":
        return replace(self, columns=tuple(profile if c.name == profile.name else c for c in self.columns))

    def check_fits(self, names: Iterable[str]) -> None:
        """Raise unless this classification describes exactly these columns."""
        have, want = list(names), list(self.names)
        if sorted(have) != sorted(want):
            missing = [n for n in want if n not in have][:3]
            extra = [n for n in have if n not in want][:3]
            raise ClassificationError(f"classification does not fit the data (missing {missing}, unclassified {extra})")

    def to_dict(self) -> dict:
        return {"format": "aod.desensitize.classification", "version": self.version, "source": self.source,
                "grade": self.grade.value, "rows_sampled": self.rows_sampled, "fingerprint": self.fingerprint,
                "created_at": self.created_at, "columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, d: dict) -> "Classification":
        if not isinstance(d, dict) or d.get("format") != "aod.desensitize.classification":
            raise ClassificationError("not a classification file")
        if d.get("version") != FORMAT_VERSION:
            raise ClassificationError(f"classification format version {d.get('version')!r} is not supported")
        cols = tuple(ColumnProfile.from_dict(c) for c in d.get("columns", ()))
        if not cols:
            raise ClassificationError("classification has no columns")
        return cls(source=str(d.get("source", "")), columns=cols, rows_sampled=int(d.get("rows_sampled", 0)),
                   fingerprint=str(d.get("fingerprint", "")), created_at=str(d.get("created_at", "")))

    def save(self, path: Union[str, Path]) -> Path:
        p = Path(path)
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: Union[str, Path]) -> "Classification":
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ClassificationError(f"classification file {p}: not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ClassificationError(f"classification file {p}: not valid JSON ({type(exc).__name__})") from None
        return cls.from_dict(data)


def fingerprint(names: Iterable[str]) -> str:
    return hashlib.sha256("\x1f".join(names).encode("utf-8")).hexdigest()[:16]


# --- classify ------------------------------------------------------------------------------

def classify(source, *, sample_rows: int = 10_000, presidio_values: int = 24, text_rows: int = 500,
             use_presidio: bool = True) -> Classification:
    """Classify every column of a CSV/Parquet file (or an Arrow table) from a sample."""
    from .io import open_source, sample_table

    if sample_rows < 1:
        raise InputError("sample_rows must be at least 1")
    if isinstance(source, pa.Table):
        table, label = sample_table(source, sample_rows), "table"
    else:
        src = open_source(source)
        table, label = sample_table(src, sample_rows), src.path.name
    profiles = tuple(profile_column(name, table.column(name), presidio_values=presidio_values if use_presidio else 0,
                                    text_rows=text_rows) for name in table.column_names)
    return Classification(source=label, columns=profiles, rows_sampled=table.num_rows,
                          fingerprint=fingerprint(table.column_names),
                          created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


@dataclass
class _Facts:
    """What the sample says about one column (internal)."""

    n: int
    distinct: float
    shares: dict = field(default_factory=dict)  # entity → share of non-null values
    counts: dict = field(default_factory=dict)
    chance: set = field(default_factory=set)  # checksummed entities at chance level
    texty: bool = False
    text_rows: int = 0
    text_hits: dict = field(default_factory=dict)  # entity → rows with that entity embedded
    presidio: dict = field(default_factory=dict)  # entity → values with a finding
    presidio_n: int = 0
    explanations: tuple = ()


def profile_column(name: str, values, *, presidio_values: int = 24, text_rows: int = 500) -> ColumnProfile:
    """Class, entity, confidence and evidence of one column from its sampled values."""
    from .vector import as_strings

    arr = as_strings(values)
    trimmed = pc.utf8_trim_whitespace(arr)
    present = arr.filter(pc.fill_null(pc.greater(pc.utf8_length(trimmed), 0), False))
    facts = _facts(present, cue_for(name), presidio_values, text_rows, str(name))
    column_class, entity, confidence, evidence = decide(cue_for(name), facts)
    shares = tuple(sorted((e.value, round(s, 4)) for e, s in facts.shares.items() if s > 0))
    return ColumnProfile(name=str(name), column_class=column_class, entity=entity, confidence=round(confidence, 3),
                         evidence=tuple(evidence), explanations=facts.explanations, non_null=facts.n,
                         distinct_ratio=round(facts.distinct, 4), value_shares=shares)


def _facts(present: pa.Array, cue: Optional[Cue], presidio_values: int, text_rows: int, name: str) -> _Facts:
    from .vector import cell_entities

    n = len(present)
    if n == 0:
        return _Facts(0, 0.0)
    facts = _Facts(n, pc.count_distinct(present).as_py() / n)
    counts = pc.value_counts(cell_entities(present))
    for item in counts.to_pylist():
        if item["values"] is not None:
            e = entity_from_name(item["values"])
            facts.counts[e] = item["counts"]
            facts.shares[e] = item["counts"] / n
    facts.chance = _chance_level(present, facts.counts)
    if Entity.PERSON_NAME in facts.shares and not _name_column(cue, facts):
        facts.shares.pop(Entity.PERSON_NAME)
    facts.texty = (cue is not None and cue.entity == Entity.FREE_TEXT) or (
        _direct_share(facts) < DI_MAJORITY and _looks_like_text(present))
    if facts.texty:
        _text_facts(present, text_rows, facts)
    if presidio_values:
        _presidio_facts(present, presidio_values, facts, name)
    return facts


def _looks_like_text(present: pa.Array) -> bool:
    """Long values with words in them (Han characters or spaces), not codes or numbers."""
    if (pc.mean(pc.utf8_length(present)).as_py() or 0) < TEXT_LENGTH:
        return False
    wordy = pc.match_substring_regex(present, r"[\p{Han}]|\S\s+\S")
    return (pc.sum(wordy).as_py() or 0) >= 0.5 * len(present)


def _name_column(cue: Optional[Cue], facts: _Facts) -> bool:
    if cue is not None and cue.entity == Entity.PERSON_NAME:
        return True
    return facts.n >= 20 and facts.distinct >= NAME_DISTINCT


def _chance_level(present: pa.Array, counts: dict) -> set:
    """Checksummed entities whose passes look like chance: most values of the shape fail."""
    from .normalize import normalize_array

    shapes = {Entity.RESIDENT_ID: r"^(?:[1-9][0-9]{16}[0-9X]|[1-9][0-9]{14})$",
              Entity.CREDIT_CODE: r"^[0-9A-Z]{18}$", Entity.BANK_CARD: r"^[0-9]{13,19}$"}
    n = None
    chance = set()
    for entity in CHECKSUMMED:
        if not counts.get(entity):
            continue
        n = normalize_array(present) if n is None else n
        shaped = pc.sum(pc.match_substring_regex(n, shapes[entity])).as_py() or 0
        if counts[entity] < 0.5 * shaped:
            chance.add(entity)
    return chance


def _direct_share(facts: _Facts) -> float:
    return sum(s for e, s in facts.shares.items() if _counts_as_direct(e, facts))


def _counts_as_direct(entity: Entity, facts: _Facts) -> bool:
    return ENTITY_INFO[entity].column_class == D and entity not in facts.chance


def _text_facts(present: pa.Array, text_rows: int, facts: _Facts) -> None:
    from .detect import text_candidates

    sub = present.slice(0, text_rows)
    found = text_candidates(sub)
    facts.text_rows = len(sub)
    for e in set(found["entity"].to_pylist()):
        rows = pc.count_distinct(found.filter(pc.equal(found["entity"], e))["row"]).as_py()
        facts.text_hits[entity_from_name(e)] = rows


def _presidio_facts(present: pa.Array, k: int, facts: _Facts, name: str) -> None:
    """Presidio over up to k values spread over the sample, each preceded by the column name
    as a cue ("姓名：…"), the way a value appears in a form; findings in the cue are ignored."""
    from .analyzer import analyze_values

    step = max(1, len(present) // k)
    prefix = f"{name[:20]}："
    sub = [prefix + v for v in present.take(pa.array(range(0, len(present), step))[:k]).to_pylist()]
    findings = [f for f in analyze_values(sub) if f.start >= len(prefix)]
    facts.presidio_n = len(sub)
    hits: dict = {}
    explained: dict = {}
    for f in findings:
        hits.setdefault(f.entity, set()).add(f.value_index)
        key = json.dumps({"entity": f.entity.value, **f.explanation}, sort_keys=True, ensure_ascii=False)
        explained[key] = explained.get(key, 0) + 1
    facts.presidio = {e: len(v) for e, v in hits.items()}
    facts.explanations = tuple({**json.loads(k), "count": c} for k, c in sorted(explained.items()))


def decide(cue: Optional[Cue], f: _Facts) -> tuple[ColumnClass, Optional[Entity], float, list[str]]:
    """The class, entity, confidence and evidence lines for a column (first rule wins)."""
    evidence = [f"name cue {cue.matched!r} suggests {cue.entity.value} ({cue.column_class.value})"] if cue else []
    evidence += _value_evidence(f)
    for rule in (_rule_empty, _rule_majority, _rule_named_direct, _rule_text_with_identifiers, _rule_mixed,
                 _rule_named, _rule_text, _rule_other):
        decided = rule(cue, f)
        if decided is not None:
            column_class, entity, confidence, why = decided
            return column_class, entity, confidence, evidence + [why]
    raise AssertionError("unreachable: _rule_other always decides")


def _value_evidence(f: _Facts) -> list[str]:
    lines = []
    for e, share in sorted(f.shares.items(), key=lambda kv: -kv[1]):
        method = CHECK_METHOD.get(e, "pattern")
        note = " — at chance level for random numbers, not counted" if e in f.chance else ""
        lines.append(f"{share:.1%} of {f.n} sampled values are {e.value} ({method}){note}")
    if f.n:
        lines.append(f"{f.distinct:.1%} of sampled values are distinct")
    for e, rows in sorted(f.text_hits.items(), key=lambda kv: -kv[1]):
        lines.append(f"{e.value} embedded in {rows} of {f.text_rows} sampled texts")
    if f.presidio_n:
        found = ", ".join(f"{e.value} in {k}" for e, k in sorted(f.presidio.items(), key=lambda kv: -kv[1]))
        lines.append(f"Presidio on {f.presidio_n} sampled values: {found or 'no findings'}")
    return lines


def _rule_empty(cue, f):
    if f.n:
        return None
    if cue:
        return cue.column_class, cue.entity, 0.5, "no values in the sample: decided by the column name"
    return S, None, 0.5, "no values in the sample and no name cue: cannot decide, treated as sensitive"


def _rule_majority(cue, f):
    direct = {e: s for e, s in f.shares.items() if _counts_as_direct(e, f)}
    total = sum(direct.values())
    if total < DI_MAJORITY:
        return None
    entity = max(direct, key=lambda e: (direct[e], -ENTITY_INFO[e].priority))
    confidence = 0.5 + 0.49 * total + (0.1 if cue and cue.entity == entity else 0.0)
    if entity in CHECKSUMMED and direct[entity] >= 0.95:
        confidence = max(confidence, 0.97)
    return D, entity, min(confidence, 0.99), f"{total:.1%} of values are direct identifiers: direct identifier"


def _rule_named_direct(cue, f):
    if not cue or cue.column_class != D or cue.entity == Entity.FREE_TEXT:
        return None
    share = f.shares.get(cue.entity, 0.0)
    return D, cue.entity, 0.6 + 0.3 * share, (
        f"the name says {cue.entity.value}; only {share:.1%} of values look like one: "
        "direct identifier by name (fail closed)")


def _rule_text_with_identifiers(cue, f):
    direct_hits = sum(rows for e, rows in f.text_hits.items() if ENTITY_INFO[e].column_class == D)
    if f.texty and direct_hits:
        return D, Entity.FREE_TEXT, 0.9, "free text with identifiers embedded: direct identifier (scrub)"
    return None


def _rule_text(cue, f):
    if f.texty:
        return S, Entity.FREE_TEXT, 0.6, "free text, no identifier found in the sample: sensitive (scrub anyway)"
    return None


def _rule_mixed(cue, f):
    direct = [e for e in f.shares if _counts_as_direct(e, f) and f.counts.get(e, 0) >= 2
              and (e in CHECKSUMMED or f.shares[e] >= MIXED_SHARE)]
    direct += [e for e, k in f.presidio.items() if ENTITY_INFO[e].column_class == D and k >= 2 and e not in f.chance]
    if not direct:
        return None
    names = ", ".join(sorted({e.value for e in direct}))
    return S, None, 0.5, f"some values are identifiers ({names}): cannot decide, treated as sensitive (scrub)"


def _rule_named(cue, f):
    if not cue:
        return None
    return cue.column_class, cue.entity, 0.8, f"decided by the column name: {cue.column_class.value}"


def _rule_other(cue, f):
    return O, None, 0.9 if f.n >= 100 else 0.7, f"no identifier in {f.n} sampled values: other"
