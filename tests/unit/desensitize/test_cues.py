"""Column-name cues in Chinese, pinyin initials and English."""

from __future__ import annotations

import pytest

from desensitize.cues import cue_for
from desensitize.entities import Entity

CASES = {
    "身份证号": Entity.RESIDENT_ID, "法定代表人身份证号": Entity.RESIDENT_ID, "sfzh": Entity.RESIDENT_ID,
    "idCardNo": Entity.RESIDENT_ID, "统一社会信用代码": Entity.CREDIT_CODE, "tyshxydm": Entity.CREDIT_CODE,
    "联系电话": Entity.MOBILE, "lxdh": Entity.MOBILE, "phoneNumber": Entity.MOBILE, "办公电话": Entity.LANDLINE,
    "姓名": Entity.PERSON_NAME, "法定代表人": Entity.PERSON_NAME, "联系人": Entity.PERSON_NAME, "xm": Entity.PERSON_NAME,
    "user_name": Entity.PERSON_NAME, "户籍地址": Entity.ADDRESS, "home_addr": Entity.ADDRESS, "出生日期": Entity.BIRTH_DATE,
    "csrq": Entity.BIRTH_DATE, "备注": Entity.FREE_TEXT, "remark": Entity.FREE_TEXT, "性别": Entity.GENDER,
    "AGE": Entity.AGE, "邮政编码": Entity.POSTCODE, "月收入": Entity.INCOME, "疾病诊断": Entity.HEALTH,
    "企业名称": Entity.ORGANIZATION, "bank_account": Entity.BANK_CARD, "email": Entity.EMAIL, "client_ip": Entity.IP_ADDRESS,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cues(name):
    assert cue_for(name).entity == CASES[name]


@pytest.mark.parametrize("name", ["hotel", "page", "filename", "c07", "字段12", "订单编号", "交易金额", "数量"])
def test_no_cue(name):
    assert cue_for(name) is None
