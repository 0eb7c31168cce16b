"""Presidio recognizers: one registry from YAML, findings with explanations, fail closed."""

from __future__ import annotations

import logging

import pytest

from desensitize import recognizers
from desensitize.analyzer import CONF, analyze_text, analyze_values, check_supported, engine, supported_entities
from desensitize.entities import DETECTABLE, Entity
from desensitize.errors import CannotCertify

TEXT = ("联系人张伟，电话+86 138-1234-5678，身份证３３０１０６１９９００１０１１２３ｘ，住址浙江省杭州市西湖区文三路138号5幢2单元301室，"
        "邮箱zhang.wei@zj.gov.cn，卡号6222021234567890128，车牌浙A·12345，IP 192.168.1.10，出生日期：1990年1月2日，"
        "王芳女士，护照E12345678，通行证C12345678，固话0571-87654321，代码91350100M000100Y43")


def test_the_registry_holds_exactly_our_recognizers_loaded_from_yaml(presidio):
    names = {r.name for r in presidio.registry.recognizers}
    assert names == {cls.__name__ for cls in recognizers.ALL}
    assert all(isinstance(r, recognizers.CnPatternRecognizer) for r in presidio.registry.recognizers)
    assert CONF.name == "recognizers.yaml"
    assert supported_entities() == set(DETECTABLE) - {Entity.PSEUDONYM}


def test_decision_process_logging_is_off(presidio):
    assert presidio.log_decision_process is False


def test_every_entity_is_found_in_messy_text(presidio):
    found = {f.entity for f in analyze_text(TEXT)}
    assert found == supported_entities()


def test_findings_keep_their_explanation_but_never_the_text(presidio):
    for f in analyze_text(TEXT):
        assert f.explanation["recognizer"].startswith("Cn")
        assert f.explanation["validation_result"] is True
        flat = str(f.explanation)
        assert TEXT[f.start:f.end] not in flat


def test_full_width_offsets_point_at_the_original_text(presidio):
    text = "身份证号：３３０１０６１９９００１０１１２３ｘ。"
    (f,) = analyze_text(text, [Entity.RESIDENT_ID])
    assert text[f.start:f.end] == "３３０１０６１９９００１０１１２３ｘ"


def test_context_words_raise_the_score_of_unvalidated_patterns(presidio):
    rec = recognizers.CnPassportRecognizer()
    assert rec.validate_result("E12345678") is True
    results = rec.analyze("护照号码E12345678", [Entity.PASSPORT.value])
    assert results and results[0].score == 1.0


def test_overlaps_go_to_the_validated_id_number(presidio):
    from desensitize import synthetic
    from desensitize.checks import luhn_ok

    id_number = next(v for v in synthetic.resident_ids(500, 3).to_pylist() if luhn_ok(v))
    found = analyze_text(f"号码{id_number}")
    assert [f.entity for f in found] == [Entity.RESIDENT_ID]


def test_invalid_check_digits_are_not_findings(presidio):
    assert analyze_text("身份证330106199001011235") == []
    assert analyze_text("卡号4111111111111112") == []


def test_analyze_values_maps_findings_back_to_values(presidio):
    values = ["无", "电话13812345678", None, "邮箱a@qq.com"]
    found = analyze_values(values)
    assert {(f.value_index, f.entity) for f in found} == {(1, Entity.MOBILE), (3, Entity.EMAIL)}


def test_an_entity_without_a_recognizer_cannot_be_certified(presidio):
    with pytest.raises(CannotCertify):
        check_supported([Entity.INCOME])
    with pytest.raises(CannotCertify):
        analyze_text("月收入 5000", [Entity.INCOME])


def test_a_regex_timeout_blocks_instead_of_being_skipped(presidio, monkeypatch):
    from presidio_analyzer import Pattern

    from desensitize.recognizers import base

    monkeypatch.setattr(base, "REGEX_TIMEOUT_SECONDS", 0.01)
    rec = recognizers.CnMobileRecognizer(patterns=[Pattern("evil", r"(a|aa)+$", 0.5)])
    with pytest.raises(CannotCertify, match="timed out"):
        rec.analyze("a" * 40 + "!", [Entity.MOBILE.value])


def test_recognizers_log_nothing(presidio, caplog):
    with caplog.at_level(logging.DEBUG):
        analyze_text(TEXT)
    for record in caplog.records:
        assert "13812345678" not in record.getMessage() and "张伟" not in record.getMessage()
