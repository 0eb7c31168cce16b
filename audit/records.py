"""How an event is stored: one line per leaf in a segment file.

    {"event":<canonical event>,"i":<leaf index>,"logged":"<UTC time>","v":1}\\n

The line (without its newline) is the canonical (RFC 8785) JSON of the record, and the Merkle
leaf is SHA-256(0x00 || line). The leaf index inside the record makes every record
self-locating, so a deleted, reordered or spliced record is pointed at directly. The fixed
trailer lets a writer check a record's frame (complete, right index) without parsing JSON.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from audit.events import TIME_FORMAT  # noqa: F401  (the format of `logged`)

FORMAT_VERSION = 1
HEAD = b'{"event":'
TAIL = b'","v":1}'
_I = b',"i":'
_LOGGED = b',"logged":"'
TIME_LEN = 27


def encode(event_json: str, index: int, logged: str) -> bytes:
    """The stored line for an event (with its newline)."""
    return (
        '{"event":' + event_json + ',"i":' + str(index) + ',"logged":"' + logged + '","v":1}\n'
    ).encode("utf-8")


class Frame(NamedTuple):
    index: int
    logged: str
    event_start: int  # byte offsets of the event JSON inside the line
    event_end: int


def frame(line: bytes) -> Frame | None:
    """Parse a line's frame (no newline) or None when it is not a complete record."""
    if not line.startswith(HEAD) or not line.endswith(TAIL):
        return None
    at_i = line.rfind(_I)
    at_logged = line.find(_LOGGED, at_i)
    if at_i < 0 or at_logged < 0:
        return None
    digits = line[at_i + len(_I):at_logged]
    logged = line[at_logged + len(_LOGGED):-len(TAIL)]
    if not digits.isdigit() or (len(digits) > 1 and digits[:1] == b"0") or len(logged) != TIME_LEN:
        return None
    return Frame(int(digits), logged.decode("ascii", "replace"), len(HEAD), at_i)


_LOGGED_AT = -(len(TAIL) + TIME_LEN + len(_LOGGED))  # where ,"logged":" starts, from the end
_TIME_AT = -(len(TAIL) + TIME_LEN)


def frame_ok(line: bytes, index: int) -> bool:
    """Fast check that `line` is a complete record for leaf `index` (slices, no parsing)."""
    digits = b"%d" % index
    at = _LOGGED_AT - len(digits)
    return (line[at - len(_I):_LOGGED_AT] == _I + digits
            and line[_LOGGED_AT:_TIME_AT] == _LOGGED
            and line.endswith(TAIL) and line.startswith(HEAD))


def logged_of(line: bytes) -> bytes:
    return line[_TIME_AT:-len(TAIL)]


def event_bytes(line: bytes) -> bytes | None:
    f = frame(line)
    return None if f is None else line[f.event_start:f.event_end]


def parse(line: bytes) -> dict:
    """The whole record as JSON (raises ValueError when it is not JSON)."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("record is not an object")
    return value
