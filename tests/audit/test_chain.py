"""The hash chain on both databases: appending, verifying, and every kind of tampering a
database administrator could do by hand."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tests.audit.helpers import DAY1, entry, fill, forge, tampering
from xinyong.audit import service
from xinyong.core import clock


def test_append_writes_a_verifiable_chain(engine: Engine) -> None:
    assert fill(engine) == [1, 2, 3, 4, 5, 6]
    with engine.connect() as conn:
        result = service.verify(conn)
        first, third = entry(conn, 1), entry(conn, 3)
        assert service.head(conn) == (6, entry(conn, 6)["hash"])
    assert result.ok and result.checked == 6 and result.head_seq == 6
    assert result.first_bad_seq is None and result.code is None
    assert first["prev_hash"] == "0" * 64
    assert first["at"] == "2026-11-20T09:30:00.000000+08:00"
    assert third["detail"] == '{"from":"一般","reason":"复核","to":"严重"}'  # canonical
    # The documented algorithm, recomputed by hand: what an outside verifier would do.
    body = json.dumps(
        {
            k: third[k]
            for k in (
                "seq",
                "at",
                "actor",
                "role",
                "action",
                "subject_id",
                "purpose",
                "target",
                "detail",
            )
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    assert third["hash"] == hashlib.sha256((third["prev_hash"] + body).encode()).hexdigest()
    assert third["prev_hash"] == entry_hash_of(engine, 2)


def entry_hash_of(engine: Engine, seq: int) -> str:
    with engine.connect() as conn:
        return entry(conn, seq)["hash"]


def test_empty_log_is_complete(engine: Engine) -> None:
    with engine.connect() as conn:
        result = service.verify(conn)
    assert result.ok and result.checked == 0


def test_rolled_back_transaction_leaves_no_entry(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        service.append(conn, actor="operator", action="model.activate")
        raise RuntimeError("the recorded work failed")
    with engine.begin() as conn:
        assert service.append(conn, actor="operator", action="model.activate") == 1
    with engine.connect() as conn:
        assert service.verify(conn).ok


def test_bad_codes_are_programming_errors(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError):
        service.append(conn, actor="operator", action="Model Activate")
    with engine.begin() as conn, pytest.raises(ValueError):
        service.append(conn, actor=" ", action="model.activate")


def test_hostile_text_is_bounded_and_hashed_as_stored(engine: Engine) -> None:
    with engine.begin() as conn:
        service.append(
            conn,
            actor="user:x\x00y",
            action="record.read_restricted",
            purpose="查" * 2000,
            detail={"note": "a\x00b"},
        )
    with engine.connect() as conn:
        row = entry(conn, 1)
        assert row["actor"] == "user:xy" and len(row["purpose"]) == 500
        assert service.verify(conn).ok


def test_triggers_refuse_update_and_delete(engine: Engine) -> None:
    fill(engine)
    for statement in (
        "UPDATE audit_log SET detail = '{}' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 6",
        "DELETE FROM audit_head",
        "UPDATE audit_head SET seq = seq - 1",  # hiding a removed tail
        f"UPDATE audit_head SET hash = '{'f' * 64}'",  # a hash no entry has
        "UPDATE audit_head SET seq = seq + 1, hash = 'x'",
    ):
        refused = r"append-only|cannot be deleted|only move forward"
        with pytest.raises(DBAPIError, match=refused), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert service.verify(conn).ok


def _verify(engine: Engine, **kw: object) -> service.VerifyResult:
    with engine.connect() as conn:
        return service.verify(conn, **kw)  # type: ignore[arg-type]


def test_changed_entry(engine: Engine) -> None:
    fill(engine)
    with tampering(engine) as conn:
        conn.execute(
            text("UPDATE audit_log SET detail = :d WHERE seq = 3"),
            {"d": '{"from":"一般","reason":"复核","to":"轻微"}'},
        )
    r = _verify(engine)
    assert (r.ok, r.first_bad_seq, r.code) == (False, 3, "AUDIT_HASH_MISMATCH")
    assert r.checked == 2 and "第 3 条" in r.reason


def test_changed_entry_with_its_hash_recomputed(engine: Engine) -> None:
    """A forger who recomputes the changed entry's hash is caught by the next entry's link."""
    fill(engine)
    with tampering(engine) as conn:
        old = entry(conn, 3)
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 3")
        forge(
            conn,
            3,
            old["prev_hash"],
            at=old["at"],
            actor=old["actor"],
            role=old["role"],
            action=old["action"],
            target=old["target"],
            detail='{"to":"轻微"}',
        )
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (3, "AUDIT_CHAIN_BROKEN")
    assert "第 3 条被替换" in r.reason


def test_removed_middle_entry(engine: Engine) -> None:
    fill(engine)
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 4")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (4, "AUDIT_GAP")
    assert "第 4 条缺失" in r.reason


def test_removed_middle_entry_renumbered(engine: Engine) -> None:
    """Closing the gap by renumbering changes the later entries' hashed numbers."""
    fill(engine)
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 4")
        conn.exec_driver_sql("UPDATE audit_log SET seq = -seq WHERE seq > 4")
        conn.exec_driver_sql("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0")
        conn.exec_driver_sql("UPDATE audit_head SET seq = 5")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (4, "AUDIT_HASH_MISMATCH")


def test_removed_tail(engine: Engine) -> None:
    fill(engine)
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq >= 5")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (5, "AUDIT_HEAD_MISMATCH")
    assert r.checked == 4 and "第 5–6 条缺失" in r.reason


def test_removed_first_entry(engine: Engine) -> None:
    fill(engine)
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 1")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code, r.checked) == (1, "AUDIT_GAP", 0)


def test_inserted_entry_in_the_middle(engine: Engine) -> None:
    """Make room at 3 by shifting the later entries up, then insert a well-formed forgery."""
    fill(engine)
    with tampering(engine) as conn:
        prev = entry(conn, 2)["hash"]
        conn.exec_driver_sql("UPDATE audit_log SET seq = -seq WHERE seq >= 3")
        conn.exec_driver_sql("UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0")
        forge(conn, 3, prev, detail='{"note":"伪造"}')
        conn.exec_driver_sql("UPDATE audit_head SET seq = 7")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (3, "AUDIT_CHAIN_BROKEN")
    assert "第 3 条是插入的" in r.reason


def test_inserted_entry_after_the_tail(engine: Engine) -> None:
    fill(engine)
    with tampering(engine) as conn:
        forge(conn, 7, entry(conn, 6)["hash"])
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (7, "AUDIT_HEAD_MISMATCH")
    assert r.checked == 6


def test_replaced_last_entry(engine: Engine) -> None:
    fill(engine)
    with tampering(engine) as conn:
        prev = entry(conn, 6)["prev_hash"]
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 6")
        forge(conn, 6, prev)
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (6, "AUDIT_HEAD_MISMATCH")


def test_rewritten_chain_is_caught_by_an_anchor(engine: Engine) -> None:
    """Rewriting everything from entry 3 on, head included, leaves a consistent chain; a head
    kept outside the database still exposes it."""
    fill(engine)
    with engine.connect() as conn:
        anchor = service.head(conn)
    assert anchor is not None
    with tampering(engine) as conn:
        prev = entry(conn, 2)["hash"]
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq >= 3")
        for seq in range(3, 7):
            prev = forge(conn, seq, prev)
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
    assert _verify(engine).ok
    r = _verify(engine, anchor=anchor)
    assert (r.first_bad_seq, r.code) == (6, "AUDIT_ANCHOR_MISMATCH")
    assert _verify(engine, anchor=(2, entry_hash_of(engine, 2))).ok
    r = _verify(engine, anchor=(9, "0" * 64))
    assert (r.ok, r.code) == (False, "AUDIT_ANCHOR_MISMATCH")


def test_emptied_head_is_recreated(engine: Engine) -> None:
    """TRUNCATE (the PostgreSQL test harness does it between tests) empties the head too: the
    next append starts it again from the log's tail."""
    fill(engine)
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_head")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code) == (7, "AUDIT_HEAD_MISMATCH")  # unknown tail, said so
    with engine.begin() as conn:
        assert service.append(conn, actor="system", action="account.login") == 7
    assert _verify(engine).ok
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_head")
        conn.exec_driver_sql("DELETE FROM audit_log")
    assert _verify(engine).ok
    with engine.begin() as conn:
        assert service.append(conn, actor="system", action="account.login") == 1


def test_verify_streams_in_chunks(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "VERIFY_CHUNK", 4)
    with clock.frozen(DAY1), engine.begin() as conn:
        for i in range(23):
            service.append(conn, actor="system", action="account.login", detail={"i": i})
    assert _verify(engine).checked == 23
    with tampering(engine) as conn:
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = 13")
    r = _verify(engine)
    assert (r.first_bad_seq, r.code, r.checked) == (13, "AUDIT_GAP", 12)


def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    """Two connections appending at once: the head lock makes them take turns."""
    per_thread = 25
    failures: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for i in range(per_thread):
                with engine.begin() as conn:
                    service.append(
                        conn, actor=f"user:{name}", action="record.read_restricted", detail={"i": i}
                    )
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    r = _verify(engine)
    assert r.ok and r.checked == 2 * per_thread
    with engine.connect() as conn:
        actors = conn.exec_driver_sql("SELECT actor, COUNT(*) FROM audit_log GROUP BY actor").all()
    assert sorted(actors) == [("user:a", per_thread), ("user:b", per_thread)]


def test_reads_are_recorded_in_their_own_transaction(engine: Engine) -> None:
    """A read request that has already read, while others write, can still record the read."""
    with engine.connect() as reader:
        reader.exec_driver_sql("SELECT COUNT(*) FROM audit_log").all()  # the request's reads
        with engine.begin() as other:
            service.append(other, actor="user:a", action="account.login")
        seq = service.append_now(
            actor="user:b",
            action="record.read_restricted",
            subject_id=9,
            purpose="行政审批前信用核查",
        )
        reader.exec_driver_sql("SELECT COUNT(*) FROM audit_log").all()
    assert seq == 2
    with engine.connect() as conn:
        assert entry(conn, 2)["subject_id"] == 9 and service.verify(conn).ok
