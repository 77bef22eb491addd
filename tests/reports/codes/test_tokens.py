"""Tokens: signed, expiring, refused with a stable code whenever anything is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tests.evaluation import builders as b
from tests.reports.codes.conftest import HONOURED
from xinyong.core import clock
from xinyong.core.config import get_settings
from xinyong.core.db import session_scope
from xinyong.reports import codes

ISSUE = dt.datetime(2026, 11, 22, 9, 30, tzinfo=clock.CST)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def _issue(subject_id: int, purpose: str = "dynamic") -> dict[str, Any]:
    with session_scope() as session:
        return codes.issue_code(session, subject_id, actor="test", purpose=purpose)


def _verify(token: str) -> dict[str, Any]:
    with session_scope() as session:
        return codes.verify(session, token)


def _refused(token: str) -> str:
    with pytest.raises(codes.CodeError) as exc:
        _verify(token)
    return exc.value.code


def test_roundtrip_and_expiry_at_chosen_times(engine: Engine, world: dict[str, Any]) -> None:
    with clock.frozen(ISSUE):
        issued = _issue(world["honoured"])
    assert issued["colour"]["code"] == "green" and issued["colour"]["name"] == "绿码"
    assert issued["url"].endswith("/code/" + issued["token"])
    assert issued["expires_at"] == "2026-11-23T09:30:00+08:00"
    payload = codes.decode_token(issued["token"])
    assert payload["s"] == world["honoured"] and payload["c"] == "green"
    assert payload["n"] == issued["serial"] and payload["k"] == "k1"
    # One second before the end: valid; at the end and after: expired (410).
    with clock.frozen(dt.datetime(2026, 11, 23, 9, 29, 59, tzinfo=clock.CST)):
        r = _verify(issued["token"])
        assert r["valid"] and r["subject"]["uscc"] == b.code(HONOURED)
        assert r["colour"]["code"] == "green" and not r["colour_changed"]
    for moment in (dt.datetime(2026, 11, 23, 9, 30), dt.datetime(2027, 1, 1, 0, 0)):
        with clock.frozen(moment.replace(tzinfo=clock.CST)):
            with pytest.raises(codes.CodeError) as exc:
                _verify(issued["token"])
            assert exc.value.code == "CODE_EXPIRED" and exc.value.status == 410
            assert "2026-11-23 09:30" in exc.value.message


def test_print_codes_last_a_year_and_are_not_replaced(engine: Engine,
                                                      world: dict[str, Any]) -> None:
    with clock.frozen(ISSUE):
        printed = _issue(world["honoured"], "print")
        _issue(world["honoured"])  # the subject's own dynamic code does not touch it
    assert printed["expires_at"].startswith("2027-11-22T09:30")
    with clock.frozen(dt.datetime(2027, 6, 1, 12, 0, tzinfo=clock.CST)):
        assert _verify(printed["token"])["purpose"] == "print"


def test_refresh_supersedes_the_previous_code(engine: Engine, world: dict[str, Any]) -> None:
    with clock.frozen(ISSUE):
        first = _issue(world["honoured"])
        second = _issue(world["honoured"])
        assert _refused(first["token"]) == "CODE_SUPERSEDED"
        assert _verify(second["token"])["serial"] == second["serial"]


def test_forged_altered_truncated_and_retired_keys(
    engine: Engine, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with clock.frozen(ISSUE):
        token = _issue(world["honoured"])["token"]
        _, sig = token.split(".")
        payload = codes.decode_token(token)
        # Altered payload (a red code passed off as green, another subject), signature kept.
        for change in ({"c": "red"}, {"s": world["plain"]}, {"e": payload["e"] + 86_400}):
            altered = codes._b64(__import__("orjson").dumps({**payload, **change}))
            assert _refused(f"{altered}.{sig}") == "CODE_FORGED"
        # Signed with another platform's secret: forged.
        monkeypatch.setenv("XINYONG_SECRET_KEY", "another-platform")
        get_settings.cache_clear()
        foreign = codes.encode_token(payload)
        monkeypatch.setenv("XINYONG_SECRET_KEY", "codes-test-secret")
        get_settings.cache_clear()
        assert _refused(foreign) == "CODE_FORGED"
        # Truncated anywhere: not a token at all.
        for cut in (1, 10, len(sig), len(sig) + 1, len(token) // 2, len(token) - 1):
            assert _refused(token[:-cut]) == "CODE_INVALID"
        assert _refused("") == "CODE_INVALID"
        assert _refused("不是信用码") == "CODE_INVALID"
        assert _refused(token + "." + sig) == "CODE_INVALID"
        assert _refused("x" * 1000) == "CODE_INVALID"
        # A key id not in the list (a payload re-signed under an unknown id).
        assert _refused(codes.encode_token({**payload, "k": "k9"})) == "CODE_KEY_RETIRED"
        # Rotation: k2 signs new codes, k1 codes still verify; then k1 is dropped.
        monkeypatch.setenv("XINYONG_CREDIT_CODE_KEYS", "k2,k1")
        get_settings.cache_clear()
        assert _verify(token)["valid"]
        fresh = _issue(world["plain"])["token"]
        assert codes.decode_token(fresh)["k"] == "k2"
        monkeypatch.setenv("XINYONG_CREDIT_CODE_KEYS", "k2")
        get_settings.cache_clear()
        with pytest.raises(codes.CodeError) as exc:
            _verify(token)
        assert exc.value.code == "CODE_KEY_RETIRED" and exc.value.status == 410
        assert _verify(fresh)["valid"]
        # An unknown serial under a valid signature (e.g. a database restored from before).
        ghost = codes.encode_token({**codes.decode_token(fresh), "n": 999_999})
        assert _refused(ghost) == "CODE_UNKNOWN"


def _pure_token() -> str:
    return codes.encode_token({
        "v": 1, "k": "k1", "n": 7, "s": 42, "i": 1_795_000_000, "e": 1_795_086_400,
        "c": "green", "p": "dynamic",
    })  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_single_character_change_is_refused(data: st.DataObject) -> None:
    get_settings.cache_clear()
    token = _pure_token()
    assert codes.decode_token(token)["s"] == 42
    i = data.draw(st.integers(0, len(token) - 1), label="position")
    new = data.draw(
        st.one_of(st.sampled_from(ALPHABET), st.characters()).filter(lambda c: c != token[i]),
        label="character",
    )
    mutated = token[:i] + new + token[i + 1:]
    with pytest.raises(codes.CodeError) as exc:
        codes.decode_token(mutated)
    assert exc.value.code in {"CODE_INVALID", "CODE_FORGED", "CODE_KEY_RETIRED"}


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(1, 300), extra=st.text(max_size=3))
def test_truncated_or_extended_tokens_are_refused(cut: int, extra: str) -> None:
    get_settings.cache_clear()
    token = _pure_token()
    for bad in (token[:-cut] if cut < len(token) else "", token[:-cut] + extra if extra else ""):
        if bad == token:
            continue
        with pytest.raises(codes.CodeError) as exc:
            codes.decode_token(bad)
        assert exc.value.code in {"CODE_INVALID", "CODE_FORGED"}


def test_token_from_text_accepts_what_scanners_output() -> None:
    token = _pure_token()
    for text in (token, f"  {token}\n", f"https://xy.example.cn/code/{token}",
                 f"http://127.0.0.1:8000/code/{token}/", f"https://xy.example.cn/code/{token}?a=1"):
        assert codes.token_from_text(text) == token
