"""presidio-anonymizer `Operator`s, for where Presidio itself is used (short texts, such as a
report under export review, and the row-by-row baseline of the benchmark).

They give the same outputs as the bulk transforms: `aod_pseudonymize` is exactly
`pseudonym.pseudonymize_value` (HMAC-SHA256 of the canonical identifier), `aod_mask` masks
the canonical value keeping its first/last characters, `aod_tag` writes the scrub tag
(〔身份证号〕…). `anonymize_text()` runs analyzer and anonymizer with them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, Optional

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import InvalidParamError, OperatorConfig
from presidio_anonymizer.operators import Operator, OperatorType

from .entities import ENTITY_INFO, Entity, entity_from_name
from .normalize import canonical_identifier
from .pseudonym import pseudonymize_value


def _entity(params: Dict) -> Optional[Entity]:
    name = params.get("entity")
    return entity_from_name(name) if name else None


class AodPseudonymize(Operator):
    """Replace the text with its keyed pseudonym (params: secret: bytes, entity)."""

    def operate(self, text: str, params: Dict = None) -> str:
        return pseudonymize_value(text, params["secret"], _entity(params)) or ""

    def validate(self, params: Dict = None) -> None:
        if not isinstance((params or {}).get("secret"), (bytes, bytearray)):
            raise InvalidParamError("aod_pseudonymize needs a bytes 'secret'")

    def operator_name(self) -> str:
        return "aod_pseudonymize"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


class AodMask(Operator):
    """Mask the canonical value, keeping keep_first/keep_last characters."""

    def operate(self, text: str, params: Dict = None) -> str:
        params = params or {}
        value = canonical_identifier(text, _entity(params)) or ""
        first, last, char = int(params.get("keep_first", 0)), int(params.get("keep_last", 0)), params.get("char", "*")
        if len(value) <= first + last:
            return char * len(value)
        return value[:first] + char * (len(value) - first - last) + (value[-last:] if last else "")

    def validate(self, params: Dict = None) -> None:
        params = params or {}
        if int(params.get("keep_first", 0)) < 0 or int(params.get("keep_last", 0)) < 0:
            raise InvalidParamError("aod_mask keeps a non-negative number of characters")

    def operator_name(self) -> str:
        return "aod_mask"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


class AodTag(Operator):
    """Replace the text with the entity's tag, as scrubbing does: 〔身份证号〕."""

    def operate(self, text: str, params: Dict = None) -> str:
        entity = _entity(params or {})
        return f"〔{ENTITY_INFO[entity].label if entity else '*'}〕"

    def validate(self, params: Dict = None) -> None:
        return None

    def operator_name(self) -> str:
        return "aod_tag"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


@lru_cache(maxsize=1)
def anonymizer() -> AnonymizerEngine:
    engine = AnonymizerEngine()
    for op in (AodPseudonymize, AodMask, AodTag):
        engine.add_anonymizer(op)
    return engine


def operators_for(secret: Optional[bytes]) -> Dict[str, OperatorConfig]:
    """Per entity: pseudonymize identifiers when a secret is given, else tag; names keep the
    surname; addresses and dates of birth are tagged."""
    out = {}
    for entity, info in ENTITY_INFO.items():
        if not info.detectable:
            continue
        if entity == Entity.PERSON_NAME:
            out[entity.value] = OperatorConfig("aod_mask", {"keep_first": 1, "entity": entity.value})
        elif secret is not None and entity not in (Entity.ADDRESS, Entity.BIRTH_DATE, Entity.PSEUDONYM):
            out[entity.value] = OperatorConfig("aod_pseudonymize", {"secret": secret, "entity": entity.value})
        else:
            out[entity.value] = OperatorConfig("aod_tag", {"entity": entity.value})
    return out


def anonymize_text(text: str, *, secret: Optional[bytes] = None) -> str:
    """Presidio analyzer + anonymizer with our recognizers and operators, for one text."""
    from presidio_anonymizer.entities import RecognizerResult

    from .analyzer import analyze_text

    findings = analyze_text(text)
    results = [RecognizerResult(f.entity.value, f.start, f.end, f.score) for f in findings]
    return anonymizer().anonymize(text=text, analyzer_results=results, operators=operators_for(secret)).text
