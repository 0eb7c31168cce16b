"""Our Presidio recognizers, one per file. Importing this package makes every class known to
Presidio's `RecognizerListLoader`, which `conf/recognizers.yaml` loads into one registry."""

from .address import CnAddressRecognizer
from .bank_card import CnBankCardRecognizer
from .base import CnPatternRecognizer
from .birth_date import CnBirthDateRecognizer
from .credit_code import CnCreditCodeRecognizer
from .email import CnEmailRecognizer
from .hmt_permit import CnHmtPermitRecognizer
from .ip_address import CnIpAddressRecognizer
from .landline import CnLandlineRecognizer
from .mobile import CnMobileRecognizer
from .passport import CnPassportRecognizer
from .person_name import CnPersonNameRecognizer
from .plate import CnPlateRecognizer
from .resident_id import CnResidentIdRecognizer

ALL = (CnResidentIdRecognizer, CnCreditCodeRecognizer, CnBankCardRecognizer, CnMobileRecognizer,
       CnLandlineRecognizer, CnPassportRecognizer, CnHmtPermitRecognizer, CnEmailRecognizer,
       CnIpAddressRecognizer, CnPlateRecognizer, CnPersonNameRecognizer, CnAddressRecognizer,
       CnBirthDateRecognizer)

__all__ = ["ALL", "CnPatternRecognizer"] + [cls.__name__ for cls in ALL]
