"""Synthetic but realistic credit histories, for the demo and for scale benchmarks.

The rates below are assumptions chosen to look like the seed documents' platforms, not
statistics of any city; they are documented so that a reader can judge what the demo shows.
Everything is drawn with NumPy from one seeded generator, column-wise: no Python loop per
subject, so 1,000,000 subjects take seconds.

| record type                | share of subjects with ≥1 / per-subject rate      | why                                   |
|----------------------------|----------------------------------------------------|---------------------------------------|
| administrative_license     | 1.2 per subject (Poisson)                          | most firms hold a licence or two      |
| administrative_penalty     | 8 % of subjects, 1–3 each; 30/60/10 % minor/general/serious | Hebi repaired 2,267 records for 140k firms |
| inspection (双随机)         | 0.4 per subject; 85 % no problem                   | SAMR samples a few % a year for 5 years |
| abnormal_operations_list   | 6 % listed; 60 % of those later removed            | unfiled annual reports are the main cause |
| serious_dishonesty_list    | 0.4 %                                              |                                       |
| dishonest_judgment_debtor  | 0.5 %                                              |                                       |
| honor                      | 2 %                                                |                                       |
| tax_credit_rating (A级)    | 10 % per year, 2023–2025                           |                                       |
| contract_performance       | 3 %; 15 % breached                                 |                                       |
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

PENALTY_KINDS = {
    "minor": ["警告", "通报批评"],
    "general": ["罚款", "罚款;没收违法所得", "警告;罚款"],
    "serious": ["吊销许可证件", "责令停产停业;罚款", "责令关闭", "限制从业;罚款"],
}
VIOLATIONS = [
    ("未按规定公示年度报告", "《企业信息公示暂行条例》第八条"),
    ("销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条"),
    ("未依法取得排污许可证排放污染物", "《中华人民共和国环境保护法》第六十三条"),
    ("虚假宣传", "《中华人民共和国反不正当竞争法》第二十条"),
    ("未按规定办理纳税申报", "《中华人民共和国税收征收管理法》第六十二条"),
    ("特种设备未经定期检验继续使用", "《中华人民共和国特种设备安全法》第八十四条"),
    ("消防设施未保持完好有效", "《中华人民共和国消防法》第六十条"),
    ("未取得施工许可证擅自施工", "《建筑工程施工许可管理办法》第十二条"),
]
AUTHORITIES = {
    "market": "{city}市场监督管理局",
    "eco": "{city}生态环境局",
    "tax": "国家税务总局{city}税务局",
    "housing": "{city}住房和城乡建设局",
    "fire": "{city}消防救援支队",
    "court": "{city}中级人民法院",
}
INSPECTION_RESULTS = (
    ["compliant"] * 85 + ["rectified"] * 8 + ["not_found"] * 3 + ["unreachable"] * 3 + ["violation"]
)
ABNORMAL_REASONS = [
    "未依照规定报送年度报告",
    "通过登记的住所或者经营场所无法联系",
    "未在责令的期限内公示有关企业信息",
    "公示企业信息隐瞒真实情况、弄虚作假",
]
HONORS = [
    ("守合同重信用企业", "provincial"),
    ("纳税信用A级纳税人", "municipal"),
    ("诚信经营示范单位", "municipal"),
    ("质量信得过企业", "district"),
    ("全国文明单位", "national"),
]


def _dates(rng: np.random.Generator, n: int, start: dt.date, end: dt.date) -> np.ndarray:
    span = max(1, (end - start).days)
    offsets = rng.integers(0, span, size=n)
    return np.datetime64(start) + offsets.astype("timedelta64[D]")


def _pick(rng: np.random.Generator, options: list[str], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), size=n)]


def _base(subjects: pl.DataFrame, idx: np.ndarray) -> pl.DataFrame:
    return subjects[idx.tolist()].select(
        pl.col("name").alias("subject_name"),
        pl.col("uscc"),
        pl.coalesce(pl.col("city"), pl.col("province"), pl.lit("本")).alias("city"),
    )


def generate(subjects: pl.DataFrame, *, seed: int, today: dt.date) -> dict[str, pl.DataFrame]:
    """Record frames by record type, with canonical field names (text values, as a department
    would send them). ``subjects`` needs name, uscc, city/province, established_on."""
    rng = np.random.default_rng(seed)
    n = subjects.height
    start = dt.date(today.year - 5, 1, 1)
    out: dict[str, pl.DataFrame] = {}

    # Licences: Poisson(1.2) per subject.
    counts = rng.poisson(1.2, size=n)
    idx = np.repeat(np.arange(n), counts)
    m = idx.size
    decided = _dates(rng, m, start, today)
    lic = _base(subjects, idx).with_columns(
        pl.Series("decided_on", decided.astype("datetime64[D]").astype(str)),
        pl.Series(
            "doc_number",
            [
                f"许准字〔{d[:4]}〕{i:07d}号"
                for i, d in enumerate(decided.astype("datetime64[D]").astype(str))
            ],
        ),
    )
    kinds = _pick(
        rng,
        [
            "食品经营许可证",
            "建筑施工企业安全生产许可证",
            "排污许可证",
            "道路运输经营许可证",
            "卫生许可证",
        ],
        m,
    )
    out["administrative_license"] = lic.with_columns(
        pl.lit("行政许可决定书").alias("doc_name"),
        pl.Series("license_kind", _pick(rng, ["普通", "认可", "核准", "登记"], m)),
        pl.Series("license_name", kinds),
        pl.Series("license_number", [f"XK{i:010d}" for i in range(m)]),
        (pl.lit("准予") + pl.Series("k", kinds)).alias("content"),
        pl.col("decided_on").alias("valid_from"),
        pl.Series("valid_until", (decided + np.timedelta64(5 * 365, "D")).astype(str)),
        (pl.col("city") + pl.lit("市场监督管理局")).alias("authority"),
    ).drop("city")

    # Penalties: 8 % of subjects, 1–3 each.
    has = rng.random(n) < 0.08
    per = rng.integers(1, 4, size=n) * has
    idx = np.repeat(np.arange(n), per)
    m = idx.size
    cls = rng.choice(["minor", "general", "serious"], size=m, p=[0.3, 0.6, 0.1])
    kinds = np.array(
        [
            PENALTY_KINDS[c][k % len(PENALTY_KINDS[c])]
            for c, k in zip(cls, rng.integers(0, 12, size=m), strict=True)
        ],
        dtype=object,
    )
    viol = rng.integers(0, len(VIOLATIONS), size=m)
    fine_yuan = np.where(
        np.char.find(kinds.astype(str), "罚款") >= 0, (rng.lognormal(9.0, 1.3, size=m)).round(-2), 0
    )
    decided = _dates(rng, m, start, today).astype(str)
    dept = _pick(rng, ["market", "eco", "housing", "fire"], m)
    pen = _base(subjects, idx)
    out["administrative_penalty"] = (
        pen.with_columns(
            pl.Series("doc_number", [f"罚字〔{d[:4]}〕{i:06d}号" for i, d in enumerate(decided)]),
            pl.Series("violation_type", [VIOLATIONS[v][0] for v in viol]),
            pl.Series("facts", [f"经查，当事人存在{VIOLATIONS[v][0]}的行为。" for v in viol]),
            pl.Series("basis", [VIOLATIONS[v][1] for v in viol]),
            pl.Series("penalty_kinds", kinds),
            pl.Series(
                "content",
                [
                    f"{k.replace(';', '、')}" + (f"，罚款{int(f)}元" if f else "")
                    for k, f in zip(kinds, fine_yuan, strict=True)
                ],
            ),
            pl.Series(
                "fine_amount",
                [f"{f / 10000:.4f}" if f else None for f in fine_yuan],
                dtype=pl.String,
            ),
            pl.Series("procedure", np.where(cls == "minor", "简易程序", "普通程序")),
            pl.Series("decided_on", decided),
            pl.Series("authority_key", dept),
        )
        .with_columns(
            pl.when(pl.col("authority_key") == "market")
            .then(pl.col("city") + "市场监督管理局")
            .when(pl.col("authority_key") == "eco")
            .then(pl.col("city") + "生态环境局")
            .when(pl.col("authority_key") == "housing")
            .then(pl.col("city") + "住房和城乡建设局")
            .otherwise(pl.col("city") + "消防救援支队")
            .alias("authority"),
        )
        .drop("city", "authority_key")
    )

    # Inspections.
    counts = rng.poisson(0.4, size=n)
    idx = np.repeat(np.arange(n), counts)
    m = idx.size
    decided = _dates(rng, m, start, today).astype(str)
    out["inspection"] = (
        _base(subjects, idx)
        .with_columns(
            pl.Series("inspection_id", [f"CC{d[:4]}{i:08d}" for i, d in enumerate(decided)]),
            pl.Series("task_name", [f"{d[:4]}年度“双随机、一公开”抽查" for d in decided]),
            pl.lit("双随机抽查").alias("inspection_kind"),
            pl.Series("result", _pick(rng, INSPECTION_RESULTS, m)),
            pl.Series("inspected_on", decided),
            (pl.col("city") + "市场监督管理局").alias("authority"),
        )
        .drop("city")
    )

    # Abnormal operations list: 6 % listed; 60 % removed later (sent as a later correction).
    idx = np.flatnonzero(rng.random(n) < 0.06)
    m = idx.size
    listed = _dates(rng, m, start, today - dt.timedelta(days=30))
    removed = np.where(
        rng.random(m) < 0.6,
        (listed + rng.integers(20, 400, size=m).astype("timedelta64[D]")).astype(str),
        None,
    )
    removed = np.array(
        [r if r is not None and r <= today.isoformat() else None for r in removed], dtype=object
    )
    ab = (
        _base(subjects, idx)
        .with_columns(
            pl.Series(
                "listing_doc_number",
                [f"异常〔{d[:4]}〕{i:06d}号" for i, d in enumerate(listed.astype(str))],
            ),
            pl.Series("reason", _pick(rng, ABNORMAL_REASONS, m)),
            pl.Series("listed_on", listed.astype(str)),
            (pl.col("city") + "市场监督管理局").alias("authority"),
            pl.Series("removed_on", removed.tolist(), dtype=pl.String),
        )
        .with_columns(
            pl.when(pl.col("removed_on").is_not_null())
            .then(pl.lit("已补报年度报告并公示"))
            .alias("removal_reason"),
            pl.when(pl.col("removed_on").is_not_null())
            .then(pl.col("authority"))
            .alias("removal_authority"),
        )
        .drop("city")
    )
    out["abnormal_operations_list"] = ab

    # Serious dishonesty list.
    idx = np.flatnonzero(rng.random(n) < 0.004)
    listed = _dates(rng, idx.size, start, today).astype(str)
    out["serious_dishonesty_list"] = (
        _base(subjects, idx)
        .with_columns(
            pl.lit("严重违法失信名单").alias("list_name"),
            pl.Series(
                "reason",
                _pick(
                    rng,
                    [
                        "被列入经营异常名录届满3年仍未履行相关义务",
                        "提交虚假材料取得登记",
                        "因同一性质违法行为受到三次以上行政处罚",
                    ],
                    idx.size,
                ),
            ),
            pl.Series(
                "listing_doc_number", [f"严失〔{d[:4]}〕{i:05d}号" for i, d in enumerate(listed)]
            ),
            pl.Series("listed_on", listed),
            (pl.col("city") + "市场监督管理局").alias("authority"),
        )
        .drop("city")
    )

    # Dishonest judgment debtors.
    idx = np.flatnonzero(rng.random(n) < 0.005)
    filed = _dates(rng, idx.size, start, today).astype(str)
    out["dishonest_judgment_debtor"] = (
        _base(subjects, idx)
        .with_columns(
            pl.Series("case_number", [f"（{d[:4]}）执{i:05d}号" for i, d in enumerate(filed)]),
            pl.Series("listed_on", filed),
            (pl.col("city") + "中级人民法院").alias("court"),
        )
        .drop("city")
    )

    # Honours.
    idx = np.flatnonzero(rng.random(n) < 0.02)
    h = rng.integers(0, len(HONORS), size=idx.size)
    awarded = _dates(rng, idx.size, start, today).astype(str)
    out["honor"] = (
        _base(subjects, idx)
        .with_columns(
            pl.Series("honor_name", [HONORS[k][0] for k in h]),
            pl.Series("level", [HONORS[k][1] for k in h]),
            pl.Series("doc_number", [f"表彰〔{d[:4]}〕{i:04d}号" for i, d in enumerate(awarded)]),
            pl.Series("awarded_on", awarded),
        )
        .drop("city")
    )

    # Tax A-grades, three years.
    frames = []
    for year in range(today.year - 3, today.year):
        idx = np.flatnonzero(rng.random(n) < 0.10)
        frames.append(
            _base(subjects, idx)
            .with_columns(
                pl.col("uscc").alias("taxpayer_number"),
                pl.lit(str(year)).alias("year"),
                pl.lit("A").alias("grade"),
                pl.lit(f"{year + 1}-04-20").alias("rated_on"),
                (pl.lit("国家税务总局") + pl.col("city") + pl.lit("税务局")).alias("authority"),
            )
            .drop("city")
        )
    out["tax_credit_rating"] = pl.concat(frames)

    # Contract performance.
    idx = np.flatnonzero(rng.random(n) < 0.03)
    m = idx.size
    out["contract_performance"] = (
        _base(subjects, idx)
        .with_columns(
            pl.Series("contract_number", [f"HT{i:08d}" for i in range(m)]),
            pl.Series(
                "contract_name", _pick(rng, ["政府采购合同", "工程施工合同", "物业服务合同"], m)
            ),
            pl.lit("本市某机关事务管理局").alias("counterparty"),
            pl.Series("outcome", rng.choice(["fulfilled", "breached"], size=m, p=[0.85, 0.15])),
            pl.Series("assessed_on", _dates(rng, m, start, today).astype(str)),
            pl.Series("amount", [f"{a:.2f}" for a in rng.lognormal(12, 1, size=m)]),
        )
        .drop("city")
    )
    return {k: v for k, v in out.items() if v.height}
