"""Chinese personal names (a surname from the list + one or two characters) after cue words
(姓名, 联系人, 法定代表人, 户名…) or before polite forms (先生, 女士…). Names with no cue in
free text are not claimed: a surname list alone gives too many false findings."""

from ..entities import Entity
from .base import CnPatternRecognizer


class CnPersonNameRecognizer(CnPatternRecognizer):
    ENTITY = Entity.PERSON_NAME
    CONTEXT = ["姓名", "联系人", "法定代表人", "负责人", "户主", "申请人", "经办人"]
