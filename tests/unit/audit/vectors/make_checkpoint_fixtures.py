"""Regenerate the malformed tree-head fixtures (named after their bug). Run from the repo root:
python tests/unit/audit/vectors/make_checkpoint_fixtures.py"""

from datetime import datetime, timezone
from pathlib import Path

from audit.checkpoint import Checkpoint, Signer

HERE = Path(__file__).parent
good = Checkpoint("aod.audit/0000000000000000", 5, b"\x11" * 32,
                  datetime(2026, 11, 23, tzinfo=timezone.utc)).sign(Signer.generate()).to_text()
body, sig = good.split("\n\n")
cases = {
    "checkpoint_no_blank_line": good.replace("\n\n", "\n"),
    "checkpoint_two_signatures": good + sig,
    "checkpoint_size_leading_zero": good.replace("\n5\n", "\n05\n"),
    "checkpoint_size_not_a_number": good.replace("\n5\n", "\nfive\n"),
    "checkpoint_root_not_base64": good.replace("ERER", "!!!!", 1),
    "checkpoint_root_too_short": good.replace("ERERERERERERERERERERERERERERERERERERERERERE=", "EREREREREREREQ=="),
    "checkpoint_missing_time": good.replace("time 2026-11-23T00:00:00.000000Z\n", ""),
    "checkpoint_unknown_extension_line": good.replace("\n\n", "\nwitness yes\n\n"),
    "checkpoint_signature_wrong_length": body + "\n\n\u2014 aod.audit/0000000000000000 AAAA\n",
    "checkpoint_signature_line_without_dash": body + "\n\n" + sig.replace("\u2014 ", "- "),
    "checkpoint_not_utf8": None,
}
for name, text in cases.items():
    data = b"\xff\xfe" + good.encode() if text is None else text.encode()
    (HERE / f"{name}.txt").write_bytes(data)
