"""Presidio, configured for Chinese public data and for failing closed.

One `AnalyzerEngine` per process: the model-free `no_op` NLP engine (no spaCy model can be
downloaded) and one `RecognizerRegistry` loaded from `conf/recognizers.yaml`, holding only
our recognizers. `log_decision_process` stays off: Presidio's decision trace includes the
NLP artifacts, i.e. the raw tokens.

- `analyze_text(text)`: findings with their `AnalysisExplanation`, overlaps resolved by
  priority (a validated ID number is not also a bank card or a credit code).
- `analyze_values(values)`: the same over many short values in one Presidio call (values
  joined by a separator no pattern crosses), findings mapped back to their value.
- An entity asked for that no recognizer supports, or a regex that times out, raises
  `CannotCertify`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .entities import ENTITY_INFO, Entity, entity_from_name
from .errors import CannotCertify

CONF = Path(__file__).parent / "conf" / "recognizers.yaml"
LANGUAGE = "zh"
SEPARATOR = "\n\x00\n"  # between joined values: no pattern matches across it


@dataclass(frozen=True)
class TextFinding:
    """One identifier found in a text: where, what, how sure, and why (no value)."""

    entity: Entity
    start: int
    end: int
    score: float
    explanation: dict = field(default_factory=dict, compare=False)
    value_index: int = 0  # for analyze_values: which value it was found in


@lru_cache(maxsize=1)
def engine():
    """The process-wide AnalyzerEngine (built once: about 3 s to import Presidio)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.recognizer_registry import RecognizerRegistryProvider

    from . import recognizers  # noqa: F401 - registers the classes the YAML names

    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "no_op", "models": [{"lang_code": LANGUAGE, "model_name": "no_op"}]}).create_engine()
    registry = RecognizerRegistryProvider(conf_file=str(CONF), nlp_engine=nlp).create_recognizer_registry()
    return AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=[LANGUAGE],
                          log_decision_process=False)


def supported_entities() -> frozenset[Entity]:
    return frozenset(entity_from_name(e) for e in engine().get_supported_entities(language=LANGUAGE))


def check_supported(entities: Optional[Iterable[Entity]]) -> list[str]:
    """Entity names to ask Presidio for; an entity without a recognizer cannot be certified."""
    if entities is None:
        return sorted(e.value for e in supported_entities())
    wanted = set(entities)
    missing = wanted - supported_entities()
    if missing:
        names = ", ".join(sorted(e.value for e in missing))
        raise CannotCertify(f"no recognizer for entity type(s) {names}: cannot certify their absence")
    return sorted(e.value for e in wanted)


def explanation_dict(result) -> dict:
    """The reviewer-facing part of an AnalysisExplanation (never the matched text)."""
    exp = result.analysis_explanation
    if exp is None:
        return {}
    return {
        "recognizer": exp.recognizer, "pattern_name": exp.pattern_name,
        "original_score": round(float(exp.original_score), 4), "score": round(float(exp.score), 4),
        "validation_result": exp.validation_result,
        "supportive_context_word": exp.supportive_context_word or None,
        "textual_explanation": exp.textual_explanation,
    }


def resolve_overlaps(findings: Sequence[TextFinding]) -> list[TextFinding]:
    """Keep, among overlapping findings, the highest-priority entity (then score, length)."""
    ranked = sorted(findings, key=lambda f: (ENTITY_INFO[f.entity].priority, -f.score, f.start - f.end))
    starts: list[int] = []
    kept: list[TextFinding] = []  # sorted by start, never overlapping: only neighbours can clash
    for f in ranked:
        i = bisect.bisect_left(starts, f.start)
        if (i > 0 and kept[i - 1].end > f.start) or (i < len(kept) and kept[i].start < f.end):
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


def analyze_text(text: str, entities: Optional[Iterable[Entity]] = None, *,
                 score_threshold: float = 0.4) -> list[TextFinding]:
    names = check_supported(entities)
    results = engine().analyze(text=text, language=LANGUAGE, entities=names, score_threshold=score_threshold,
                               return_decision_process=True)
    findings = [TextFinding(entity_from_name(r.entity_type), r.start, r.end, float(r.score), explanation_dict(r))
                for r in results]
    return resolve_overlaps(findings)


def analyze_values(values: Sequence[Optional[str]], entities: Optional[Iterable[Entity]] = None, *,
                   score_threshold: float = 0.4, chunk: int = 32) -> list[TextFinding]:
    """Findings over many values, `chunk` values per Presidio call (joined by a separator no
    pattern crosses); `value_index` says which value each finding came from."""
    texts = ["" if v is None else str(v).replace("\x00", " ") for v in values]
    out: list[TextFinding] = []
    for first in range(0, len(texts), chunk):
        part = texts[first:first + chunk]
        starts, pos = [], 0
        for t in part:
            starts.append(pos)
            pos += len(t) + len(SEPARATOR)
        for f in analyze_text(SEPARATOR.join(part), entities, score_threshold=score_threshold):
            i = bisect.bisect_right(starts, f.start) - 1
            out.append(TextFinding(f.entity, f.start - starts[i], f.end - starts[i], f.score, f.explanation,
                                   first + i))
    return out
