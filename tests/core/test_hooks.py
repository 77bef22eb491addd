"""Reactions to records fire in every process that changes records, whatever it imported."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import Engine

from tests.evaluation import builders as b
from xinyong.core import clock
from xinyong.evaluation import service


def test_a_batch_pushed_from_the_command_line_moves_the_grades(
    engine: Engine, tmp_path: Path
) -> None:
    """`xinyong ingest` in a fresh interpreter: the evaluation and repair-notice hooks are not
    among what the CLI imports, yet the subject's grade moves in the batch's transaction and
    the penalty is served with its repair notice (两书同达)."""
    b.departments()
    with engine.begin() as conn:
        service.sync_builtin_models(conn)
    with clock.frozen(b.AS_OF):
        sid = b.subject(engine, 21)
        service.evaluate(engine, "gz_general", as_of=b.AS_OF)
    row = b.penalty_row(21, "穗市监罚〔2026〕21-1号", "2026-11-01", penalty_class="serious")
    path = tmp_path / "penalties.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    env = {**os.environ, "XINYONG_DATABASE_URL": engine.url.render_as_string(False)}
    done = subprocess.run(
        [sys.executable, "-c", "from xinyong.cli import main; main()", "--today", "2026-11-22",
         "ingest", str(path), "--type", "administrative_penalty", "--department", "market"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with engine.connect() as conn:
        results = {r["model"]: r for r in service.subject_results(conn, sid, government=True)}
        notices = conn.exec_driver_sql(
            f"SELECT COUNT(*) FROM repair_notice WHERE subject_id = {sid}"
        ).scalar_one()
    assert results["gz_general"]["grade"] == "B"
    assert results["huixin_code"]["colour"] == "red"
    assert notices == 1


def test_every_module_that_registers_a_hook_is_a_named_subscriber() -> None:
    """A new reaction to records registered in a module missing from SUBSCRIBERS would again
    fire only in the processes that happened to import that module."""
    import re

    import xinyong
    from xinyong.core import hooks

    root = Path(xinyong.__file__).parent
    registering = {
        "xinyong." + ".".join(p.relative_to(root).with_suffix("").parts)
        for p in root.rglob("*.py")
        if p.name != "hooks.py"
        and re.search(r"^hooks\.register_records_\w+\(", p.read_text("utf-8"), re.M)
    }
    assert registering == set(hooks.SUBSCRIBERS)
