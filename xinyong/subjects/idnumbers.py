"""Natural-person ID numbers (居民身份证号码, GB 11643-1999) and personal-data masking.

The platform never stores a clear ID number: it keeps a keyed hash for matching (HMAC, so
that the 18-digit space, small enough to brute-force with a plain hash, cannot be reversed
without the key) and a masked form for display. Public views run free text through
`mask_personal_data` because departments put ID and phone numbers into penalty descriptions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

MESSAGES: dict[str, str] = {
    "ID_EMPTY": "身份证号码为空",
    "ID_LENGTH": "身份证号码应为18位",
    "ID_FORMAT": "身份证号码格式错误（前17位应为数字，末位为数字或X）",
    "ID_BIRTH_DATE": "身份证号码中的出生日期无效",
    "ID_REGION": "身份证号码前6位（地址码）不是有效的行政区划代码",
    "ID_CHECKSUM": "身份证号码校验位不符",
}

# Bounded by non-alphanumerics so that digits inside a longer number (a bank account) are not
# taken for an ID number, and positions 7–14 must look like a birth date (19xx/20xx) so that an
# all-digit USCC such as 914403001922038216 stays visible. The check digit is NOT required:
# a mistyped ID number is still personal data.
_ID_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])([1-9][0-9]{5})((?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))"
    r"([0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
)
# Mainland mobile numbers: 11 digits starting 13–19 (MIIT numbering plan), optionally +86/86.
_MOBILE_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])((?:\+?86)?1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9A-Za-z])"
)
# Both patterns above (matched on text whose full-width digits are made ASCII) need at least 11
# digits in a row: text without such a run has nothing to mask, and one search for it is far
# cheaper than the two substitutions (the public profile masks every field of every record).
# Explicit classes, not \d: Unicode's \d costs half again as much here and would also match
# digits of other scripts, which nobody writes an ID number in.
_LONG_DIGITS = re.compile(r"[0-9０-９]{11}")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋", "0123456789Xx+")


def normalize_id_number(value: str) -> str:
    """Full-width → half-width, spaces removed, check character x → X."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def check_id_number(value: str | None) -> tuple[bool, str | None, str | None]:
    """(ok, error_code, Chinese message) for an 18-character ID number (GB 11643)."""
    number = normalize_id_number(value or "")
    if not number:
        return False, "ID_EMPTY", MESSAGES["ID_EMPTY"]
    if len(number) == 18 and not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        # stdnum reports a bad last character as a checksum error; it is a format error.
        return False, "ID_FORMAT", MESSAGES["ID_FORMAT"]
    try:
        ric.validate(number)
    except stdnum_errors.InvalidLength:
        return False, "ID_LENGTH", MESSAGES["ID_LENGTH"]
    except stdnum_errors.InvalidComponent:
        # stdnum raises the same error for the birth date and the address code.
        try:
            ric.get_birth_date(number)
        except stdnum_errors.ValidationError:
            return False, "ID_BIRTH_DATE", MESSAGES["ID_BIRTH_DATE"]
        return False, "ID_REGION", MESSAGES["ID_REGION"]
    except stdnum_errors.InvalidChecksum:
        return False, "ID_CHECKSUM", MESSAGES["ID_CHECKSUM"]
    except stdnum_errors.ValidationError:
        return False, "ID_FORMAT", MESSAGES["ID_FORMAT"]
    return True, None, None


def hash_id_number(number: str, secret: str) -> str:
    """HMAC-SHA256 (hex) of the normalised number under the platform's secret key."""
    if not secret:
        raise ValueError("身份证号码哈希密钥不能为空")
    digest = hmac.new(
        secret.encode("utf-8"), normalize_id_number(number).encode("utf-8"), hashlib.sha256
    )
    return digest.hexdigest()


def mask_id_number(number: str) -> str:
    """Keep the first 4 (province and city) and the last 4 characters: 4401**********1234."""
    number = normalize_id_number(number)
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """Keep the first 3 and last 4 digits of a mobile number: 138****1234."""
    number = re.sub(r"\D", "", unicodedata.normalize("NFKC", number))
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def may_hold_personal_data(text: str) -> bool:
    """False when ``text`` certainly holds no ID or mobile number (no 11 digits in a row)."""
    return _LONG_DIGITS.search(text) is not None


def mask_personal_data(text: str) -> str:
    """Mask every 18-character ID number and 11-digit mobile number found in free text, in
    ASCII or full-width digits (as typed on a Chinese keyboard)."""
    if not may_hold_personal_data(text):
        return text
    # The patterns are matched on an ASCII-digit copy of the text (same length, one character
    # for one), and the stars they leave are put at the same positions in the original.
    plain = text.translate(_FULL_WIDTH)
    masked = _ID_IN_TEXT.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(3), plain)
    masked = _MOBILE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(3), masked)
    if masked == plain:
        return text
    return "".join("*" if m == "*" and p != "*" else o
                   for o, p, m in zip(text, plain, masked, strict=True))
