"""The base of our Presidio recognizers: Chinese text, fail-closed timeouts, context windows.

A recognizer is a `PatternRecognizer` subclass in its own file with `ENTITY`, `PATTERNS`
(built from `patterns.text_patterns()`, so Presidio and the vectorized path use the same
regular expressions), `CONTEXT` words and a check in `validate_result()`.

Differences from `PatternRecognizer`, all deliberate:
- the text is matched in its half-width form (one character for one, offsets unchanged),
  so full-width digits and letters are found;
- a regex that times out raises `CannotCertify` instead of being logged and skipped
  (Presidio's default is fail-open);
- context words are looked for in a window of characters before the match (Chinese has
  no spaces to split tokens on, and the no-op NLP engine gives no tokens) and in the
  request's context (Presidio's `analyze_dict` passes the column name);
- a weak pattern (a bare name or date) stays weak when validated: only context raises it
  over the threshold;
- nothing is ever logged: a log line could carry the text.
"""

from __future__ import annotations

from typing import ClassVar, List, Optional

import regex
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

from ..checks import detect_value
from ..entities import Entity
from ..errors import CannotCertify
from ..normalize import halfwidth, normalize_identifier
from ..patterns import WEAK, presidio_regex, text_patterns

REGEX_TIMEOUT_SECONDS = 2.0
CONTEXT_WINDOW = 12  # characters before a match searched for context words
CONTEXT_BOOST = 0.35


def patterns_for(entity: Entity) -> List[Pattern]:
    return [Pattern(p.name, presidio_regex(p), p.score) for p in text_patterns() if p.entity == entity]


class CnPatternRecognizer(PatternRecognizer):
    ENTITY: ClassVar[Entity]
    CONTEXT: ClassVar[List[str]] = []

    def __init__(self, supported_language: str = "zh", supported_entity: Optional[str] = None,
                 patterns: Optional[List[Pattern]] = None, context: Optional[List[str]] = None,
                 name: Optional[str] = None, **_ignored):
        super().__init__(
            supported_entity=supported_entity or self.ENTITY.value,
            name=name or type(self).__name__,
            supported_language=supported_language,
            patterns=patterns or patterns_for(self.ENTITY),
            context=context or list(self.CONTEXT),
        )

    # -- matching ---------------------------------------------------------------------

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None, regex_flags: Optional[int] = None
                ) -> List[RecognizerResult]:
        flags = regex_flags or self.global_regex_flags or 0
        narrow = halfwidth(text)
        results = []
        for pattern in self.patterns:
            compiled = regex.compile(pattern.regex, flags=flags)
            try:
                for match in compiled.finditer(narrow, timeout=REGEX_TIMEOUT_SECONDS):
                    result = self._result(pattern, match, text, flags)
                    if result is not None:
                        results.append(result)
            except TimeoutError as exc:
                raise CannotCertify(f"recognizer {self.name} pattern {pattern.name} timed out "
                                    f"after {REGEX_TIMEOUT_SECONDS:g} s on a text of {len(text)} characters") from exc
        return EntityRecognizer.remove_duplicates(results)

    def _result(self, pattern: Pattern, match, text: str, flags: int) -> Optional[RecognizerResult]:
        start, end = match.span()
        if start == end:
            return None
        validation = self.validate_result(text[start:end])
        explanation = self.build_regex_explanation(self.name, pattern.name, pattern.regex, pattern.score,
                                                   validation, flags)
        if validation is None or (validation and pattern.score <= WEAK):
            score = pattern.score  # a weak pattern stays weak until context raises it
        else:
            score = self.MAX_SCORE if validation else self.MIN_SCORE
        explanation.score = score
        if score <= self.MIN_SCORE:
            return None
        return RecognizerResult(
            entity_type=self.supported_entities[0], start=start, end=end, score=score,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id},
        )

    def validate_result(self, pattern_text: str) -> Optional[bool]:
        """By default: the matched text, as a whole value, is this recognizer's entity."""
        return detect_value(pattern_text) == self.ENTITY

    # -- context ----------------------------------------------------------------------

    def enhance_using_context(self, text: str, raw_recognizer_results: List[RecognizerResult],
                              other_raw_recognizer_results: List[RecognizerResult], nlp_artifacts,
                              context: Optional[List[str]] = None) -> List[RecognizerResult]:
        words = [normalize_identifier(w) for w in (self.context or []) if w]
        given = [normalize_identifier(str(c)) for c in (context or []) if c]  # e.g. the column name
        for result in raw_recognizer_results:
            window = normalize_identifier(text[max(0, result.start - CONTEXT_WINDOW): result.start]) or ""
            word = next((w for w in words if w in window or any(w in g for g in given)), None)
            if word is not None and result.score < self.MAX_SCORE:
                result.score = min(self.MAX_SCORE, result.score + CONTEXT_BOOST)
                if result.analysis_explanation:
                    result.analysis_explanation.set_supportive_context_word(word)
                    result.analysis_explanation.set_improved_score(result.score)
            result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return raw_recognizer_results
