"""Administrative-penalty CSV files as departments send them (双公示 Chinese headers), generated
column-wise and streamed to disk chunk by chunk, matched to the subjects of a database by USCC."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy.engine import Engine

from xinyong.synth import VIOLATIONS  # the same realistic violations as the demo

# canonical field → 双公示 header (the first alias of profile dual_publicity_penalty)
HEADERS = {
    "subject_name": "行政相对人名称",
    "subject_kind": "行政相对人类别",
    "uscc": "行政相对人代码_1(统一社会信用代码)",
    "legal_representative": "法定代表人",
    "doc_number": "行政处罚决定书文号",
    "violation_type": "违法行为类型",
    "facts": "违法事实",
    "basis": "处罚依据",
    "penalty_kinds": "处罚类别",
    "content": "处罚内容",
    "fine_amount": "罚款金额(万元)",
    "procedure": "程序类型",
    "decided_on": "处罚决定日期",
    "authority": "处罚机关",
    "source_unit": "数据来源单位",
}
KINDS = ["警告", "罚款", "警告;罚款", "罚款;没收违法所得", "通报批评", "责令停产停业;罚款"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红志文斌")


def load_subjects(engine: Engine) -> pl.DataFrame:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, uscc, city FROM subject WHERE uscc IS NOT NULL ORDER BY id").all()
    return pl.DataFrame(rows, schema={"name": pl.String, "uscc": pl.String, "city": pl.String},
                        orient="row").with_columns(pl.col("city").fill_null("本市"))


def penalty_chunk(subjects: pl.DataFrame, start: int, n: int, seed: int,
                  today: dt.date) -> pl.DataFrame:
    """Rows ``start`` … ``start + n - 1`` of the file (canonical names), each about a random
    subject; decision numbers are unique."""
    rng = np.random.default_rng([seed, start])
    pick = rng.integers(0, subjects.height, size=n)
    base = subjects[pick.tolist()]
    viol = rng.integers(0, len(VIOLATIONS), size=n)
    kinds = pl.Series(KINDS).gather(rng.integers(0, len(KINDS), size=n))
    fine = np.round(rng.lognormal(9.0, 1.3, size=n), -2)
    has_fine = kinds.str.contains("罚款").to_numpy()
    span = 5 * 365
    decided = np.datetime64(today) - rng.integers(0, span, size=n).astype("timedelta64[D]")
    seq = np.arange(start, start + n)
    rep = (pl.Series(SURNAMES).gather(rng.integers(0, len(SURNAMES), size=n))
           + pl.Series(GIVEN).gather(rng.integers(0, len(GIVEN), size=n)))
    frame = pl.DataFrame({
        "subject_name": base["name"],
        "subject_kind": pl.Series(["法人及非法人组织"] * n),
        "uscc": base["uscc"],
        "legal_representative": rep,
        "seq": seq,
        "decided_on": pl.Series(decided.astype("datetime64[D]")).cast(pl.Date),
        "violation_type": pl.Series([v[0] for v in VIOLATIONS]).gather(viol),
        "basis": pl.Series([v[1] for v in VIOLATIONS]).gather(viol),
        "penalty_kinds": kinds,
        "fine": pl.Series(np.where(has_fine, fine, 0.0)),
        "simple": pl.Series(rng.random(n) < 0.3),
        "city": base["city"],
    })
    return frame.select(
        "subject_name", "subject_kind", "uscc", "legal_representative",
        pl.concat_str([pl.col("city").str.slice(0, 2), pl.lit("市监罚〔"),
                       pl.col("decided_on").dt.year().cast(pl.String), pl.lit("〕"),
                       pl.col("seq").cast(pl.String), pl.lit("号")]).alias("doc_number"),
        "violation_type",
        (pl.lit("经查，当事人") + pl.col("violation_type") + pl.lit("，违反了")
         + pl.col("basis") + pl.lit("的规定，事实清楚，证据确凿。")).alias("facts"),
        "basis",
        "penalty_kinds",
        pl.when(pl.col("fine") > 0)
        .then(pl.col("penalty_kinds").str.replace_all(";", "、") + pl.lit("，罚款")
              + pl.col("fine").cast(pl.Int64).cast(pl.String) + pl.lit("元"))
        .otherwise(pl.col("penalty_kinds")).alias("content"),
        pl.when(pl.col("fine") > 0).then((pl.col("fine") / 10000).round(4).cast(pl.String))
        .otherwise(pl.lit(None, pl.String)).alias("fine_amount"),
        pl.when(pl.col("simple")).then(pl.lit("简易程序")).otherwise(pl.lit("普通程序"))
        .alias("procedure"),
        pl.col("decided_on").dt.to_string("%Y-%m-%d"),
        (pl.col("city") + pl.lit("市场监督管理局")).alias("authority"),
        (pl.col("city") + pl.lit("市场监督管理局")).alias("source_unit"),
    )


def write_penalty_csv(path: Path, subjects: pl.DataFrame, rows: int, *, seed: int = 11,
                      today: dt.date | None = None, chunk: int = 100_000,
                      chinese_headers: bool = True) -> Path:
    """Stream ``rows`` rows to ``path`` in chunks (never the whole file in memory)."""
    today = today or dt.date.today()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for start in range(0, rows, chunk):
            frame = penalty_chunk(subjects, start, min(chunk, rows - start), seed, today)
            if chinese_headers:
                frame = frame.rename(HEADERS)
            frame.write_csv(f, include_header=start == 0)
    return path


def penalty_csv_once(url: str, path: Path, rows: int) -> Path:
    """Generate the CSV for the subjects of database ``url`` once; later runs reuse it."""
    if not path.exists():
        from xinyong.core.db import make_engine

        eng = make_engine(url)
        try:
            subj = load_subjects(eng)
        finally:
            eng.dispose()
        tmp = path.with_suffix(".tmp")
        write_penalty_csv(tmp, subj, rows)
        tmp.rename(path)
    return path
