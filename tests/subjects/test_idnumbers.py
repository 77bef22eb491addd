"""ID number checks (GB 11643), keyed hashing and masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from xinyong.subjects.idnumbers import (
    check_id_number,
    hash_id_number,
    mask_id_number,
    mask_personal_data,
    mask_phone,
)

# Test numbers built with the GB 11643 check digit (not real people).
VALID_ID = "11010519491231002X"
VALID_ID_2 = "440106199001011235"


def test_valid_numbers() -> None:
    assert ric.is_valid(VALID_ID_2)
    assert check_id_number(VALID_ID) == (True, None, None)
    assert check_id_number(VALID_ID.lower()) == (True, None, None)
    assert check_id_number(" ４４０１０６１９９００１０１１２３５ ") == (True, None, None)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "ID_EMPTY"),
        (None, "ID_EMPTY"),
        ("4401061990010112", "ID_LENGTH"),
        ("44010619900101123A", "ID_FORMAT"),
        ("440106199001011234", "ID_CHECKSUM"),
    ],
)
def test_invalid_numbers(value: str | None, code: str) -> None:
    ok, error_code, message = check_id_number(value)
    assert not ok and error_code == code and message


def _with_check_digit(body: str) -> str:
    """Append the one check character that passes the GB 11643 checksum."""
    from stdnum import exceptions

    for ch in "0123456789X":
        try:
            ric.validate(body + ch)
        except exceptions.InvalidChecksum:
            continue
        except exceptions.ValidationError:
            return body + ch
        return body + ch
    raise AssertionError(body)


def test_birth_date_and_region_errors() -> None:
    assert check_id_number(_with_check_digit("44010619901301123"))[1] == "ID_BIRTH_DATE"
    assert check_id_number(_with_check_digit("00000019900101123"))[1] == "ID_REGION"


def test_hash_is_keyed_and_normalised() -> None:
    a = hash_id_number(VALID_ID, "k1")
    assert a == hash_id_number(VALID_ID.lower(), "k1")
    assert a != hash_id_number(VALID_ID, "k2")
    assert len(a) == 64
    with pytest.raises(ValueError):
        hash_id_number(VALID_ID, "")


def test_masks() -> None:
    assert mask_id_number("440106199001011234") == "4401**********1234"
    assert mask_phone("13812341234") == "138****1234"


def test_mask_personal_data_in_text() -> None:
    text = (
        "当事人张某（身份证号440106199001011234，电话13812341234）经营无照，"
        "代码914403001922038216。"
    )
    masked = mask_personal_data(text)
    assert "4401**********1234" in masked
    assert "138****1234" in masked
    assert "914403001922038216" in masked  # a USCC is public and is not an ID number
    assert "440106199001011234" not in masked and "13812341234" not in masked


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.text(alphabet="，。 甲乙", max_size=5))
def test_every_mobile_in_text_is_masked(phone: str, around: str) -> None:
    masked = mask_personal_data(around + phone + around)
    assert phone not in masked
    assert phone[:3] + "****" + phone[-4:] in masked


def test_full_width_numbers_in_text_are_masked() -> None:
    text = "身份证４４０１０６１９９００１０１１２３Ｘ，电话１３８１２３４５６７８，另１３９12345678。"
    masked = mask_personal_data(text)
    assert masked == "身份证４４０１**********１２３Ｘ，电话１３８****５６７８，另１３９****5678。"
    assert mask_personal_data("罚款 5000 元，文号 2026-001") == "罚款 5000 元，文号 2026-001"
