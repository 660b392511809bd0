"""Identifiers people type in: ID numbers (GB 11643), mainland mobile numbers, and enterprise
unified social credit codes (GB 32100). Each parser normalises what phones and Excel produce
(full-width digits, a lower-case x, spaces, a +86 prefix) and raises :class:`InvalidIdentifier`
with a stable code that views translate.

After normalisation only ASCII digits (and X) are accepted. In Python ``\\d`` and
``str.isdigit`` match the digits of every script, and NFKC folds full-width digits but not
Devanagari, Thai or Arabic-Indic ones: the same number written in another script would be a
second, different value (a second account, a prefix test it escapes). So the patterns below
spell ``[0-9]`` and other scripts' digits are refused with ``digits_not_ascii``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MAX_INPUT_LENGTH = 64  # anything longer is refused before any work is done


class InvalidIdentifier(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _is_foreign_digit(char: str) -> bool:
    """A decimal digit of a script other than ASCII (Devanagari ३, Thai ๓, Arabic-Indic ٣...)."""
    return not char.isascii() and unicodedata.decimal(char, None) is not None


def _normalise(raw: str | None) -> str:
    if raw is None:
        return ""
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidIdentifier("too_long")
    # NFKC folds full-width digits and letters (１２３Ｘ) to ASCII.
    text = unicodedata.normalize("NFKC", raw)
    value = re.sub(r"[\s\-]", "", text).upper()
    if any(_is_foreign_digit(char) for char in value):
        raise InvalidIdentifier("digits_not_ascii")
    return value


def fold_foreign_digits(value: str) -> str:
    """Each decimal digit of any script as its ASCII digit (``३३०३`` → ``3303``).

    Not for input — the parsers refuse such digits — but to repair values stored before they
    did: the ASCII form is the canonical form of what was stored (:mod:`wzcheckin.core.renormalise`).
    """
    return "".join(str(unicodedata.decimal(char)) if _is_foreign_digit(char) else char for char in value)


# --- 居民身份证号码 (GB 11643-1999) ---------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_PATTERN = re.compile(r"^[1-9][0-9]{16}[0-9X]$")


def id_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class IdNumber:
    value: str

    @property
    def tail(self) -> str:
        return self.value[-4:]

    @property
    def masked(self) -> str:
        return mask_id_tail(self.tail)

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    def age_on(self, day: date) -> int:
        """Age in completed years on ``day`` (a birthday on 29 February falls on 1 March)."""
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def parse_id_number(raw: str | None, *, today: date | None = None) -> IdNumber:
    value = _normalise(raw)
    if not value:
        raise InvalidIdentifier("required")
    if len(value) == 15 and value.isascii() and value.isdigit():
        raise InvalidIdentifier("id_15_digit")
    if len(value) != 18:
        raise InvalidIdentifier("id_length")
    if not _ID_PATTERN.match(value):
        raise InvalidIdentifier("id_format")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier("id_birth_date") from None
    if born.year < 1900 or (today is not None and born > today):
        raise InvalidIdentifier("id_birth_date")
    if id_check_character(value[:17]) != value[17]:
        raise InvalidIdentifier("id_check")
    return IdNumber(value)


def mask_id_tail(tail: str) -> str:
    """The only form of an ID number shown on screen or exported: ``**************123X``."""
    return "*" * 14 + tail


# --- 手机号码 (mainland mobile) ------------------------------------------------------------

_PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


def parse_phone(raw: str | None) -> str:
    value = _normalise(raw).replace("(", "").replace(")", "")
    if not value:
        raise InvalidIdentifier("required")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    else:
        if len(value) == 13 and value.startswith("86"):
            value = value[2:]
    if not _PHONE_PATTERN.match(value):
        raise InvalidIdentifier("phone_format")
    return value


def mask_phone(phone: str) -> str:
    """``138****1234``."""
    return f"{phone[:3]}****{phone[-4:]}"


# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------

_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_PATTERN = re.compile(rf"^[{_CREDIT_CHARSET}]{{2}}[0-9]{{6}}[{_CREDIT_CHARSET}]{{10}}$")


def credit_check_character(first17: str) -> str:
    total = sum(
        _CREDIT_CHARSET.index(char) * weight for char, weight in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return _CREDIT_CHARSET[(31 - total % 31) % 31]


def parse_credit_code(raw: str | None) -> str:
    value = _normalise(raw)
    if not value:
        raise InvalidIdentifier("required")
    if len(value) != 18:
        raise InvalidIdentifier("credit_length")
    if not _CREDIT_PATTERN.match(value):
        raise InvalidIdentifier("credit_format")
    if credit_check_character(value[:17]) != value[17]:
        raise InvalidIdentifier("credit_check")
    return value


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧**娜; Latin names keep their first letter."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
