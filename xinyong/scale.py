"""A database at full scale: 1,000,000 subjects and 20,000,000 credit records, in minutes.

Used by the benchmarks (``benchmarks/``) and by ``xinyong scale``. Everything is synthetic but
shaped like the real thing:

* subjects: Chinese company names built from a region, a trade name of 2–4 common characters,
  an industry word and a legal form (有限公司, 股份有限公司, 分公司, 个体工商户, 合作社);
  credit codes (USCC) with a valid organisation code (GB 11714) and check character (GB 32100);
  they go in through :func:`xinyong.subjects.service.insert_subjects`, so the name index and
  the bigram statistics are exactly what the platform builds itself;
* records: a skewed number per subject (lognormal, mean ``records / subjects``; many subjects
  have a handful, a few have hundreds), a record-type mix dominated by licences, inspections
  and tax ratings, dates over the last five years, ``data`` JSON with the catalog fields of each
  type. They are written straight into ``credit_record`` and ``credit_record_detail`` (every
  column, ids from :func:`allocate_ids`), in chunks sorted by ``(subject_id, id)`` — the
  clustered key of both tables on SQLite.

Generation is column-wise (NumPy/Polars), never a Python loop per row. Each chunk is its own
transaction, and chunk boundaries are a pure function of the seed, so an interrupted run
resumes where it stopped when called again with the same arguments. A database that holds
anything else than a previous run's subjects and records is refused.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine

from xinyong.core import clock
from xinyong.core.db import bulk_insert
from xinyong.core.models import allocate_ids

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)`` with phase ``"subjects"``, ``"records"`` or ``"indexes"``."""

SOURCE = "scale"
SUBJECT_CHUNK = 100_000
RECORD_CHUNK = 500_000
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# --------------------------------------------------------------------------- vocabularies

# Characters that trade names (字号) are commonly made of, most frequent first (roughly).
TRADE_CHARS = (
    "华信达鑫源盛安泰恒通宏嘉瑞丰德元利兴隆金海新天中国建东方明阳光荣辉祥和顺发成富贵永佳"
    "美好优品博远鼎诚汇联合创智能云数科星辰宇航飞龙凤鹏腾翔宝泽润锦绣江山川林森木水火土石"
    "正大同心仁义礼君豪晨晟昊旭晖曦润弘毅睿哲思源启航致远精工匠铭卓越胜伟业雅韵尚品臻晶"
    "亿万千百佰仟隆昌瀚海峰岭松柏梅兰竹菊春夏秋冬宁静和谐康健福寿喜乐吉祥如意久长青蓝红"
    "绿紫银铜铁钢恒久立诚信义友朋家园城乡村镇湾港桥路道途程志鸿皓琪瑶琳璐珂霖霏露雪冰泉"
    "溪湖河洋洲岛沙滩原野田禾麦稻丰收农牧渔猎工商贸易实业投资控股集团发展建设开拓进取"
)
TRADE_CHARS = "".join(dict.fromkeys(c for c in TRADE_CHARS if c not in "工商贸易实业投资控股集团"))

# (industry word, GB/T 4754 section, division, business scope)
INDUSTRIES: list[tuple[str, str, str, str]] = [
    ("科技", "I", "65", "技术开发、技术咨询、技术服务、技术转让"),
    ("网络科技", "I", "64", "互联网信息服务；软件开发；网络技术服务"),
    ("信息技术", "I", "65", "信息系统集成服务；软件开发；信息技术咨询服务"),
    ("电子科技", "C", "39", "电子产品研发、生产、销售"),
    ("生物科技", "M", "73", "生物技术研发；技术推广服务"),
    ("贸易", "F", "51", "国内贸易；货物及技术进出口"),
    ("商贸", "F", "52", "日用百货、五金交电、服装鞋帽销售"),
    ("实业", "C", "41", "实业投资；产品生产及销售"),
    ("建设工程", "E", "48", "房屋建筑工程、市政公用工程施工"),
    ("建筑装饰工程", "E", "50", "室内外装饰装修工程设计与施工"),
    ("餐饮管理", "H", "62", "餐饮服务；餐饮企业管理"),
    ("食品", "C", "14", "食品生产；食品销售"),
    ("物流", "G", "59", "普通货运；仓储服务；物流信息咨询"),
    ("供应链管理", "L", "72", "供应链管理服务；国内货运代理"),
    ("医药", "F", "52", "药品零售；医疗器械销售"),
    ("房地产开发", "K", "70", "房地产开发经营；物业管理"),
    ("物业管理", "K", "70", "物业管理；停车场服务；家政服务"),
    ("建材", "F", "51", "建筑材料、装饰材料销售"),
    ("服装", "C", "18", "服装、服饰的设计、生产与销售"),
    ("环保科技", "N", "77", "环保技术开发；污水处理；固体废物治理"),
    ("文化传媒", "R", "86", "文化艺术交流活动策划；广告设计、制作、发布"),
    ("教育咨询", "P", "83", "教育信息咨询；文化艺术培训"),
    ("投资管理", "L", "72", "投资管理；投资咨询；资产管理"),
    ("机械设备", "C", "34", "机械设备的研发、制造、销售及维修"),
    ("新能源", "D", "44", "新能源技术开发；太阳能发电；合同能源管理"),
    ("汽车服务", "O", "81", "汽车维修；汽车美容；二手车经纪"),
    ("酒店管理", "H", "61", "住宿服务；酒店管理；会议服务"),
    ("农业发展", "A", "01", "农作物种植；农产品初加工及销售"),
    ("劳务", "L", "72", "劳务派遣；人力资源服务"),
    ("化工", "C", "26", "化工产品（不含危险化学品）的生产与销售"),
    ("印刷", "C", "23", "包装装潢印刷品、其他印刷品印刷"),
    ("电力工程", "E", "48", "电力工程施工；输变电工程"),
    ("家具", "C", "21", "家具制造；家具销售"),
    ("健康管理", "Q", "84", "健康咨询服务；养老服务"),
]
SHOP_WORDS = [
    "便利店",
    "餐馆",
    "五金店",
    "理发店",
    "小吃店",
    "水果店",
    "服装店",
    "烟酒店",
    "修理部",
    "超市",
    "药店",
    "茶庄",
    "面馆",
    "快餐店",
    "建材经营部",
    "百货商行",
]
LEGAL_FORMS = [  # (form, share, kind, uscc category char, enterprise type)
    ("有限公司", 0.66, "legal_person", "1", "有限责任公司（自然人投资或控股）"),
    ("有限责任公司", 0.08, "legal_person", "1", "有限责任公司（法人独资）"),
    ("股份有限公司", 0.04, "legal_person", "1", "股份有限公司（非上市、自然人投资或控股）"),
    ("分公司", 0.05, "unincorporated", "1", "有限责任公司分公司（自然人投资或控股）"),
    ("个体", 0.14, "individual_business", "2", "个体工商户"),
    ("合作社", 0.03, "legal_person", "3", "农民专业合作社"),
]

# Record-type mix (share of all records) and the department that sends each type.
RECORD_MIX: dict[str, tuple[float, str]] = {
    "administrative_license": (0.27, "market"),
    "inspection": (0.17, "market"),
    "tax_credit_rating": (0.11, "tax"),
    "administrative_confirmation": (0.06, "hrss"),
    "administrative_payment": (0.05, "hrss"),
    "administrative_levy": (0.04, "tax"),
    "administrative_penalty": (0.07, "market"),
    "contract_performance": (0.04, "credit_office"),
    "commitment": (0.04, "credit_office"),
    "professional_qualification": (0.03, "housing"),
    "honor": (0.02, "credit_office"),
    "administrative_reward": (0.015, "credit_office"),
    "abnormal_operations_list": (0.02, "market"),
    "administrative_coercion": (0.005, "ecology"),
    "administrative_ruling": (0.005, "market"),
    "judicial_ruling": (0.01, "court"),
    "dishonest_judgment_debtor": (0.005, "court"),
    "consumption_restriction": (0.002, "court"),
    "serious_dishonesty_list": (0.002, "market"),
    "utility_arrears": (0.005, "utility"),
    "tax_arrears": (0.004, "tax"),
    "self_reported": (0.01, "credit_office"),
    "customs_certification": (0.003, "customs"),
    "commitment_performance": (0.01, "credit_office"),
}
DEPARTMENTS = {
    "market": "市场监督管理局",
    "tax": "税务局",
    "court": "中级人民法院",
    "housing": "住房和城乡建设局",
    "ecology": "生态环境局",
    "hrss": "人力资源和社会保障局",
    "credit_office": "社会信用体系建设办公室",
    "utility": "公用事业管理局",
    "customs": "海关",
}
NUMBER_PREFIX = {
    "administrative_license": "许准字",
    "administrative_penalty": "罚字",
    "inspection": "CC",
    "tax_credit_rating": "税信",
    "administrative_confirmation": "确认字",
    "administrative_payment": "给付字",
    "administrative_levy": "征字",
    "contract_performance": "HT",
    "commitment": "承诺",
    "professional_qualification": "资质证",
    "honor": "表彰",
    "administrative_reward": "奖字",
    "abnormal_operations_list": "异常",
    "administrative_coercion": "强制字",
    "administrative_ruling": "裁字",
    "judicial_ruling": "民初",
    "dishonest_judgment_debtor": "执",
    "consumption_restriction": "执限",
    "serious_dishonesty_list": "严失",
    "utility_arrears": "户号",
    "tax_arrears": "欠税",
    "self_reported": "ZB",
    "customs_certification": "海关",
    "commitment_performance": "核查",
}
# Values for text fields, by field name (any record type).
TEXT_POOLS: dict[str, list[str]] = {
    "doc_name": ["行政许可决定书", "准予行政许可决定书", "行政处罚决定书", "决定书"],
    "license_kind": ["普通", "认可", "核准", "登记", "特许"],
    "license_name": [
        "食品经营许可证",
        "建筑施工企业安全生产许可证",
        "排污许可证",
        "道路运输经营许可证",
        "卫生许可证",
        "危险化学品经营许可证",
        "医疗器械经营许可证",
        "药品经营许可证",
    ],
    "content": ["准予行政许可", "予以确认", "准予登记", "经审查，符合法定条件", "予以办理"],
    "violation_type": [
        "未按规定公示年度报告",
        "销售不符合食品安全标准的食品",
        "虚假宣传",
        "未依法取得排污许可证排放污染物",
        "未按规定办理纳税申报",
        "消防设施未保持完好有效",
        "特种设备未经定期检验继续使用",
        "未取得施工许可证擅自施工",
    ],
    "facts": [
        "经查，当事人存在违法行为，事实清楚，证据确凿。",
        "经现场检查，发现当事人未按规定履行义务。",
        "当事人的上述行为违反了相关法律法规的规定。",
    ],
    "basis": [
        "《中华人民共和国食品安全法》第一百二十四条",
        "《中华人民共和国反不正当竞争法》第二十条",
        "《中华人民共和国环境保护法》第六十三条",
        "《中华人民共和国消防法》第六十条",
        "《企业信息公示暂行条例》第八条",
        "《中华人民共和国税收征收管理法》第六十二条",
    ],
    "penalty_kinds": [
        "警告",
        "罚款",
        "警告;罚款",
        "罚款;没收违法所得",
        "责令停产停业;罚款",
        "通报批评",
    ],
    "confirmation_kind": ["工伤认定", "高新技术企业认定", "劳动能力鉴定", "安全生产标准化确认"],
    "payment_kind": ["稳岗补贴", "社会保险补贴", "就业见习补贴", "创业补贴"],
    "levy_kind": ["排污费", "城市基础设施配套费", "残疾人就业保障金", "土地出让金"],
    "reward_kind": ["表彰奖励", "资金奖励", "通报表扬"],
    "reward_name": ["优秀民营企业", "科技进步奖", "安全生产先进单位", "纳税大户"],
    "ruling_kind": ["权属争议裁决", "补偿裁决", "知识产权侵权裁决"],
    "coercion_kind": ["查封场所、设施或者财物", "扣押财物", "冻结存款、汇款", "加处罚款"],
    "qualification_name": [
        "建筑工程施工总承包三级",
        "市政公用工程施工总承包二级",
        "建筑装修装饰工程专业承包二级",
        "电子与智能化工程专业承包二级",
        "物业服务企业资质",
    ],
    "reason": [
        "未依照规定报送年度报告",
        "通过登记的住所或者经营场所无法联系",
        "未在责令的期限内公示有关企业信息",
        "提交虚假材料取得登记",
    ],
    "list_name": ["严重违法失信名单"],
    "honor_name": ["守合同重信用企业", "纳税信用A级纳税人", "诚信经营示范单位", "质量信得过企业"],
    "contract_name": ["政府采购合同", "工程施工合同", "物业服务合同", "设备采购合同"],
    "counterparty": ["本市机关事务管理局", "区教育局", "市政工程管理处", "区卫生健康局"],
    "matter": ["办理食品经营许可", "申请稳岗补贴", "企业登记", "信用修复", "承接政府采购项目"],
    "tax_kind": ["增值税", "企业所得税", "城市维护建设税", "房产税"],
    "title": ["企业社会责任报告", "产品质量承诺", "环境信息披露"],
    "task_name": [
        "“双随机、一公开”抽查",
        "食品安全专项检查",
        "消防安全检查",
        "年度报告公示信息抽查",
    ],
    "cause": ["买卖合同纠纷", "借款合同纠纷", "建设工程施工合同纠纷", "劳动争议"],
    "obligation": ["支付货款及利息", "偿还借款本金及利息", "支付工程款"],
    "performance": ["全部未履行", "部分未履行"],
    "behaviour": ["有履行能力而拒不履行生效法律文书确定义务", "违反财产报告制度"],
}


def _departments_of(city: pl.Expr, dept: pl.Expr) -> pl.Expr:
    return city + dept.replace_strict(DEPARTMENTS, return_dtype=pl.String)


# --------------------------------------------------------------------------- subjects


def _regions() -> pl.DataFrame:
    """Prefectures and municipal districts with their province and city names."""
    from xinyong.subjects.regions import load_regions

    regions = load_regions()
    provinces = regions.filter(pl.col("level") == "province").select(
        pl.col("code").alias("parent"), pl.col("name").alias("province")
    )
    places = (
        regions.filter(pl.col("level").is_in(["prefecture", "county"]))
        .join(provinces, on="parent", how="inner")
        .with_columns(
            pl.when(pl.col("level") == "prefecture")
            .then(pl.col("name"))
            .otherwise(pl.col("province"))
            .alias("city"),
        )
        .select(pl.col("code").alias("region_code"), "name", "province", "city")
        .sort("region_code")
    )
    return places


def _check_chars_org(body: np.ndarray) -> np.ndarray:
    """GB 11714 check character of 8-character organisation-code bodies (n, 8) of values 0–35."""
    weights = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
    check = 11 - (body @ weights) % 11
    out = np.where(check == 10, 33, np.where(check == 11, 0, check))  # 33 = 'X' in 0-9A-Z
    return out


def make_usccs(
    rng: np.random.Generator, ordinal: np.ndarray, category: np.ndarray, region_code: np.ndarray
) -> np.ndarray:
    """Valid, unique credit codes: '9' + category + region + organisation code + check char.

    ``ordinal`` (unique non-negative integers) is spread over 31^8 bodies by a multiplicative
    bijection, so codes are unique and look random. Returned as an array of 18-byte strings.
    """
    del rng  # deterministic from the ordinals
    n = ordinal.size
    space = 31**8
    mixed = (ordinal.astype(np.int64) * 16_807_413 + 1_234_567) % space  # 16807413 coprime to 31
    digits = np.empty((n, 8), dtype=np.int64)
    x = mixed.copy()
    for i in range(7, -1, -1):
        digits[:, i] = x % 31
        x //= 31
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
    body_bytes = alphabet[digits]  # characters of the USCC alphabet (a subset of 0-9A-Z)
    # value of each body character for GB 11714: digits 0–9, letters A=10 … Z=35
    body_vals = np.where(body_bytes <= ord("9"), body_bytes - ord("0"), body_bytes - ord("A") + 10)
    org_check = _check_chars_org(body_vals.astype(np.int64))
    org_check_bytes = np.where(org_check == 33, ord("X"), org_check + ord("0")).astype(np.uint8)
    region = np.frombuffer("".join(region_code.tolist()).encode(), dtype=np.uint8).reshape(n, 6)
    cat = np.frombuffer("".join(category.tolist()).encode(), dtype=np.uint8).reshape(n, 1)
    first = np.full((n, 1), ord("9"), dtype=np.uint8)
    code17 = np.hstack([first, cat, region, body_bytes, org_check_bytes[:, None]])
    value_of = np.full(256, -1, dtype=np.int64)
    for i, ch in enumerate(USCC_ALPHABET):
        value_of[ord(ch)] = i
    weights = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
    check = (31 - (value_of[code17] @ weights) % 31) % 31
    full = np.hstack([code17, alphabet[check][:, None]])
    return full.view("S18").ravel()


def generate_subjects(seed: int, start: int, count: int, today: dt.date) -> pl.DataFrame:
    """Subjects number ``start`` … ``start + count - 1`` of the synthetic population (the same
    numbers give the same subjects whatever the chunking)."""
    from xinyong.subjects.names import normalize_name_expr

    rng = np.random.default_rng([seed, 1, start])
    regions = _regions()
    nreg = regions.height
    # Bigger places are more likely: a Zipf-like weight over a fixed shuffle of the regions.
    order = np.random.default_rng([seed, 0]).permutation(nreg)
    weight = 1.0 / np.sqrt(1 + order)
    region_idx = rng.choice(nreg, size=count, p=weight / weight.sum())
    reg = regions[region_idx.tolist()]

    chars = pl.Series(list(TRADE_CHARS))
    nchar = len(TRADE_CHARS)
    cweight = 1.0 / (1 + np.arange(nchar)) ** 0.7
    char_idx = rng.choice(nchar, size=(count, 4), p=cweight / cweight.sum())
    trade_len = rng.choice([2, 3, 4], size=count, p=[0.62, 0.28, 0.10])
    ind_idx = rng.integers(0, len(INDUSTRIES), size=count)
    forms = [f[0] for f in LEGAL_FORMS]
    form_idx = rng.choice(len(forms), size=count, p=[f[1] for f in LEGAL_FORMS])
    shop_idx = rng.integers(0, len(SHOP_WORDS), size=count)

    frame = pl.DataFrame(
        {
            "region_code": reg["region_code"],
            "place": reg["name"],
            "province": reg["province"],
            "city": reg["city"],
            "c0": chars.gather(char_idx[:, 0]),
            "c1": chars.gather(char_idx[:, 1]),
            "c2": chars.gather(char_idx[:, 2]),
            "c3": chars.gather(char_idx[:, 3]),
            "tl": trade_len,
            "industry": pl.Series([i[0] for i in INDUSTRIES]).gather(ind_idx),
            "industry_section": pl.Series([i[1] for i in INDUSTRIES]).gather(ind_idx),
            "industry_division": pl.Series([i[2] for i in INDUSTRIES]).gather(ind_idx),
            "scope": pl.Series([i[3] for i in INDUSTRIES]).gather(ind_idx),
            "form": pl.Series(forms).gather(form_idx),
            "kind": pl.Series([f[2] for f in LEGAL_FORMS]).gather(form_idx),
            "cat": pl.Series([f[3] for f in LEGAL_FORMS]).gather(form_idx),
            "enterprise_type": pl.Series([f[4] for f in LEGAL_FORMS]).gather(form_idx),
            "shop": pl.Series(SHOP_WORDS).gather(shop_idx),
        }
    )
    trade = pl.concat_str(
        [
            pl.col("c0"),
            pl.col("c1"),
            pl.when(pl.col("tl") >= 3).then(pl.col("c2")).otherwise(pl.lit("")),
            pl.when(pl.col("tl") >= 4).then(pl.col("c3")).otherwise(pl.lit("")),
        ]
    )
    place = pl.col("place")
    name = (
        pl.when(pl.col("form") == "个体")
        .then(place + trade + pl.col("shop"))
        .when(pl.col("form") == "合作社")
        .then(place + trade + pl.lit("农民专业合作社"))
        .when(pl.col("form") == "分公司")
        .then(
            pl.col("province")
            + trade
            + pl.col("industry")
            + pl.lit("有限公司")
            + place
            + pl.lit("分公司")
        )
        .otherwise(place + trade + pl.col("industry") + pl.col("form"))
    )
    capital_wan = np.round(np.exp(rng.normal(4.0, 1.6, size=count)), 0).clip(1, 10_000_000)
    established = np.datetime64(today) - rng.gamma(1.6, 2200, size=count).astype("timedelta64[D]")
    established = np.maximum(established, np.datetime64("1984-01-01"))
    status = rng.choice(
        ["active", "deregistered", "revoked", "moved_out"], size=count, p=[0.90, 0.06, 0.03, 0.01]
    )
    size_class = rng.choice(
        ["micro", "small", "medium", "large"], size=count, p=[0.72, 0.22, 0.05, 0.01]
    )
    road_no = rng.integers(1, 999, size=count)
    ordinal = np.arange(start, start + count, dtype=np.int64)
    codes = make_usccs(rng, ordinal, frame["cat"].to_numpy(), frame["region_code"].to_numpy())
    out = frame.with_columns(
        name.alias("name"),
        pl.Series("uscc", codes).cast(pl.String),
        pl.Series("capital_wan", capital_wan),
        pl.Series("established_on", established.astype("datetime64[D]")).cast(pl.Date),
        pl.Series("status", status),
        pl.Series("size_class", size_class),
        pl.Series("road_no", road_no),
    ).with_columns(
        normalize_name_expr(pl.col("name")).alias("name_norm"),
        pl.lit("verified").alias("uscc_status"),
        pl.lit("keyword").alias("industry_source"),
        pl.when(pl.col("kind") == "individual_business")
        .then(pl.lit(None, pl.Int64))
        .otherwise((pl.col("capital_wan") * 1_000_000).cast(pl.Int64))
        .alias("registered_capital_fen"),
        pl.when(pl.col("kind") == "individual_business")
        .then(pl.lit(None, pl.String))
        .otherwise(pl.lit("人民币"))
        .alias("capital_currency"),
        pl.when(pl.col("kind") == "individual_business")
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("capital_wan").cast(pl.Int64).cast(pl.String) + pl.lit("万元人民币"))
        .alias("capital_raw"),
        (
            pl.col("province")
            + pl.when(pl.col("city") != pl.col("province"))
            .then(pl.col("city"))
            .otherwise(pl.lit(""))
            + pl.col("c1")
            + pl.col("c0")
            + pl.lit("路")
            + pl.col("road_no").cast(pl.String)
            + pl.lit("号")
        ).alias("address"),
        pl.col("scope").alias("business_scope"),
        pl.lit(SOURCE).alias("source"),
    )
    return out.select(
        "uscc",
        "uscc_status",
        "kind",
        "name",
        "name_norm",
        "enterprise_type",
        "industry_section",
        "industry_division",
        "industry_source",
        "region_code",
        "province",
        "city",
        "registered_capital_fen",
        "capital_currency",
        "capital_raw",
        "established_on",
        "status",
        "address",
        "business_scope",
        "size_class",
        "source",
    )


# --------------------------------------------------------------------------- records


def record_counts(seed: int, subjects: int, records: int) -> np.ndarray:
    """Records per subject: lognormal weights (σ = 1.1, so a few subjects have hundreds and many
    have one or two), scaled to exactly ``records`` with a multinomial draw."""
    if subjects == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng([seed, 2])
    weights = rng.lognormal(0.0, 1.1, size=subjects)
    return rng.multinomial(records, weights / weights.sum()).astype(np.int64)


def _chunk_bounds(counts: np.ndarray, target: int) -> list[tuple[int, int]]:
    """Subject index ranges [a, b) holding about ``target`` records each."""
    cum = np.cumsum(counts)
    bounds = []
    a = 0
    n = counts.size
    while a < n:
        base = cum[a - 1] if a else 0
        b = int(np.searchsorted(cum, base + target, side="left")) + 1
        b = min(max(b, a + 1), n)
        bounds.append((a, b))
        a = b
    return bounds


def generate_records(
    seed: int,
    chunk_no: int,
    subj: pl.DataFrame,
    counts: np.ndarray,
    first_id: int,
    today: dt.date,
    catalog: Any,
    dept_ids: dict[str, int],
) -> pl.DataFrame:
    """Every column of ``credit_record`` and ``credit_record_detail`` for the given subjects (``subject_id``, ``name``,
    ``uscc``, ``city``), sorted by (subject_id, id)."""
    rng = np.random.default_rng([seed, 3, chunk_no])
    n = int(counts.sum())
    idx = np.repeat(np.arange(subj.height), counts)
    types = list(RECORD_MIX)
    p = np.array([RECORD_MIX[t][0] for t in types])
    type_idx = rng.choice(len(types), size=n, p=p / p.sum())
    start = np.datetime64(dt.date(today.year - 5, today.month, 1))
    span = int((np.datetime64(today) - start).astype(int))
    # Recent years hold more records (a growing platform).
    decided = start + (span * np.sqrt(rng.random(n))).astype("timedelta64[D]")
    base = (
        subj[idx.tolist()]
        .with_columns(
            pl.Series("tix", type_idx, dtype=pl.Int32),
            pl.Series("id", np.arange(first_id, first_id + n, dtype=np.int64)),
            pl.Series("decided_on", decided.astype("datetime64[D]")).cast(pl.Date),
            pl.Series("r", rng.integers(0, 1 << 30, size=n, dtype=np.int64)),
            pl.Series(
                "money", np.round(rng.lognormal(9.5, 1.4, size=n), -2).astype(np.int64) * 100
            ),
            pl.Series("u", rng.random(n)),
        )
        .with_columns(
            pl.col("tix")
            .replace_strict(dict(enumerate(types)), return_dtype=pl.String)
            .alias("record_type"),
        )
    )
    parts = []
    for t_i, code in enumerate(types):
        part = base.filter(pl.col("tix") == t_i)
        if part.height:
            parts.append(
                _typed_part(
                    part,
                    catalog.type(code),
                    dept_ids[RECORD_MIX[code][1]],
                    RECORD_MIX[code][1],
                    catalog.version,
                    today,
                )
            )
    frame = pl.concat(parts, how="vertical").sort("subject_id", "id")
    return frame


def _pick(pool: list[str], r: pl.Expr, salt: int) -> pl.Expr:
    return pl.lit(pl.Series(pool)).gather((r // (salt + 1)) % len(pool))


def _typed_part(
    part: pl.DataFrame,
    rtype: Any,
    dept_id: int,
    dept_code: str,
    catalog_version: str,
    today: dt.date,
) -> pl.DataFrame:
    code = rtype.code
    number = pl.concat_str(
        [
            pl.lit(NUMBER_PREFIX.get(code, "NO")),
            pl.lit("〔"),
            pl.col("decided_on").dt.year().cast(pl.String),
            pl.lit("〕"),
            pl.col("id").cast(pl.String),
            pl.lit("号"),
        ]
    )
    r = pl.col("r")
    authority = pl.col("city") + pl.lit(DEPARTMENTS[dept_code])
    fields: dict[str, pl.Expr] = {}
    valid_until: pl.Expr = pl.lit(None, pl.Date)
    for k, spec in enumerate(rtype.fields):
        name = spec.name
        expr: pl.Expr | None = None
        if name == "subject_name":
            expr = pl.col("name")
        elif name in ("uscc", "taxpayer_number"):
            expr = pl.col("uscc")
        elif name == rtype.key_field or name in ("doc_number", "case_number"):
            expr = number
        elif name in ("authority", "court", "supplier", "removal_authority"):
            if spec.required or name in ("authority", "court"):
                expr = authority
        elif spec.type == "date":
            if name == rtype.date_field:
                expr = pl.col("decided_on")
            elif name == rtype.valid_until_field and name in ("valid_until",):
                years = {
                    "administrative_license": 5,
                    "professional_qualification": 5,
                    "honor": 2,
                    "tax_credit_rating": 1,
                }.get(code)
                if years:
                    valid_until = pl.col("decided_on").dt.offset_by(f"{years}y")
                    expr = valid_until
            elif name == "valid_from" or spec.required:
                expr = pl.col("decided_on")
        elif spec.type == "money":
            if spec.required or name in ("fine_amount", "amount"):
                expr = pl.col("money")
        elif spec.type == "integer":
            expr = pl.col("decided_on").dt.year() - 1
        elif spec.type == "enum" and spec.values:
            if spec.required or name in (
                "procedure",
                "inspection_kind",
                "state",
                "level",
                "case_type",
            ):
                values = list(spec.values)
                if name in ("result", "outcome", "grade"):
                    values = values[:1] * 6 + values  # mostly the favourable value
                expr = _pick(values, r, k)
        elif spec.type == "text":
            pool = TEXT_POOLS.get(name)
            if pool is not None:
                expr = _pick(pool, r, k)
            elif spec.required:
                expr = pl.lit(spec.label)
        if expr is not None:
            fields[name] = expr
    money_col = rtype.amount_field
    title_src = rtype.title_field
    with_fields = part.with_columns(**{f"f_{k}": v for k, v in fields.items()})
    data_cols = [pl.col(f"f_{k}").alias(k) for k in fields]
    data = pl.struct(
        [
            c.dt.to_string("%Y-%m-%d") if fields_type(rtype, k) == "date" else c
            for c, k in zip(data_cols, fields, strict=True)
        ]
    ).struct.json_encode()
    if code == "administrative_penalty":
        cls = _pick(["minor", "general", "general", "general", "serious"], r, 97)
        months = pl.when(cls == "serious").then(pl.lit("36mo")).otherwise(pl.lit("12mo"))
        publicity_until = pl.col("decided_on").dt.offset_by(months)
        rule = pl.lit("ndrc-2023:") + cls
        class_source = pl.lit("department")
        class_reason = pl.lit("部门报送的失信程度")
    else:
        cls = pl.lit(None, pl.String)
        publicity_until = pl.lit(None, pl.Date)
        rule = pl.lit(rtype.publicity if rtype.publicity in ("always", "list") else "none")
        class_source = pl.lit(None, pl.String)
        class_reason = pl.lit(None, pl.String)
    status = (
        pl.when(pl.col("u") < 0.010)
        .then(pl.lit("repaired"))
        .when(pl.col("u") < 0.014)
        .then(pl.lit("revoked"))
        .otherwise(pl.lit("active"))
    )
    # a repair or revocation took effect some days after the decision (never after today)
    status_since = (
        pl.when(status != "active")
        .then(
            pl.min_horizontal(
                pl.col("decided_on") + pl.duration(days=30 + r % 700), pl.lit(today, pl.Date)
            )
        )
        .otherwise(pl.lit(None, pl.Date))
    )
    title = pl.col(f"f_{title_src}").cast(pl.String) if title_src in fields else number
    return with_fields.select(
        pl.col("subject_id").cast(pl.Int64),
        pl.col("id"),
        pl.col("record_type"),
        pl.lit(rtype.category).alias("category"),
        pl.lit(dept_id, pl.Int64).alias("department_id"),
        (
            pl.col(f"f_{rtype.key_field}")
            if rtype.key_field in fields and not rtype.key_template
            else number
        )
        .cast(pl.String)
        .str.slice(0, 128)
        .alias("source_record_id"),
        pl.lit(1, pl.Int64).alias("version"),
        data.alias("data"),
        pl.lit(None, pl.Int64).alias("batch_id"),
        pl.lit(catalog_version).alias("catalog_version"),
        pl.lit(rtype.polarity).alias("polarity"),
        pl.lit(rtype.disclosure).alias("disclosure"),
        title.str.slice(0, 300).alias("title"),
        pl.col("decided_on"),
        valid_until.alias("valid_until"),
        (pl.col("money") if money_col in fields else pl.lit(None, pl.Int64)).alias("amount_fen"),
        cls.alias("penalty_class"),
        class_source.alias("class_source"),
        class_reason.alias("class_reason"),
        publicity_until.alias("publicity_until"),
        rule.alias("publicity_rule"),
        status.alias("status"),
        status_since.alias("status_since"),
        pl.lit(True).alias("is_current"),
    ).with_columns(
        # 32 hex characters, like the md5 the ingest path stores (a synthetic stand-in).
        pl.concat_str(
            [
                pl.col("data").hash(1).cast(pl.String).str.zfill(20),
                pl.col("id").hash(2).cast(pl.String).str.zfill(20),
            ]
        )
        .str.slice(0, 32)
        .alias("content_hash"),
    )


def fields_type(rtype: Any, name: str) -> str | None:
    spec = rtype.field(name)
    return spec.type if spec is not None else None


RECORD_COLUMNS = [
    "subject_id",
    "id",
    "record_type",
    "category",
    "department_id",
    "source_record_id",
    "version",
    "content_hash",
    "batch_id",
    "catalog_version",
    "polarity",
    "disclosure",
    "title",
    "decided_on",
    "valid_until",
    "amount_fen",
    "created_at",
    "penalty_class",
    "class_source",
    "publicity_until",
    "publicity_rule",
    "status",
    "status_since",
    "is_current",
]
DETAIL_COLUMNS = ["subject_id", "id", "data", "class_reason"]


# --------------------------------------------------------------------------- writing


def prepared_payload(frame: pl.DataFrame, sqlite: bool) -> Any:
    """What the writer needs: row tuples for SQLite's ``executemany`` (via ``bulk_insert``), CSV
    bytes for PostgreSQL's ``COPY`` (written by Polars; the per-value Python formatting inside
    ``bulk_insert`` costs several times more at this size)."""
    if sqlite:
        return frame.with_columns(
            pl.col(pl.Date).dt.to_string("%Y-%m-%d"), pl.col(pl.Boolean).cast(pl.Int8)
        ).rows()
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="", quote_style="necessary")
    return buf.getvalue()


def write_payload(conn: Connection, table: str, columns: list[str], payload: Any) -> None:
    if isinstance(payload, list):
        bulk_insert(conn, table, columns, payload)
        return
    raw = conn.connection.driver_connection
    cols = ", ".join(columns)
    view = memoryview(payload)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as cp:
        for off in range(0, len(view), 1 << 20):
            cp.write(view[off : off + (1 << 20)])


def copy_frame(conn: Connection, table: str, frame: pl.DataFrame) -> int:
    """Write a whole frame into ``table`` by the fastest path of the engine."""
    if frame.height:
        write_payload(
            conn, table, frame.columns, prepared_payload(frame, conn.dialect.name != "postgresql")
        )
    return frame.height


def _secondary_indexes(conn: Connection, table: str) -> dict[str, str]:
    """Name → DDL of the droppable secondary indexes of ``table`` (not PK/unique constraints)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = :t"
                " AND i.schemaname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                " WHERE c.conname = i.indexname)"
            ),
            {"t": table},
        ).all()
    else:
        rows = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
                " AND sql IS NOT NULL"
            ),
            {"t": table},
        ).all()
    return {str(a): str(b) for a, b in rows}


def _model_indexes(conn: Connection, table: str) -> dict[str, str]:
    from sqlalchemy.schema import CreateIndex

    from xinyong.core import all_models  # noqa: F401
    from xinyong.core.db import Base

    tbl = Base.metadata.tables[table]
    return {str(ix.name): str(CreateIndex(ix).compile(dialect=conn.dialect)) for ix in tbl.indexes}


# --------------------------------------------------------------------------- the run


class ScaleError(RuntimeError):
    pass


def _ensure_departments(engine: Engine) -> dict[str, int]:
    from xinyong.departments.models import Department

    with engine.begin() as conn:
        have = dict(conn.execute(select(Department.code, Department.id)).all())
        for code, name in DEPARTMENTS.items():
            if code not in have:
                conn.execute(
                    Department.__table__.insert().values(
                        code=code, name=name, created_at=clock.now()
                    )
                )
        return {
            str(c): int(i) for c, i in conn.execute(select(Department.code, Department.id)).all()
        }


def _state(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        subjects, scale_subjects = q(
            f"SELECT COUNT(*), COUNT(CASE WHEN source = '{SOURCE}' THEN 1 END) FROM subject"
        ).one()
        records, foreign, max_subject = q(
            "SELECT COUNT(*), COUNT(batch_id), COALESCE(MAX(subject_id), 0) FROM credit_record"
        ).one()
    return {
        "subjects": int(subjects),
        "scale_subjects": int(scale_subjects),
        "records": int(records),
        "foreign_records": int(foreign),
        "max_record_subject": int(max_subject),
    }


def _say(msg: str) -> None:
    print(f"[scale] {msg}", flush=True)


def generate_scale(
    engine: Engine,
    *,
    subjects: int = 1_000_000,
    records: int = 20_000_000,
    seed: int = 7,
    progress: Progress | None = None,
    record_chunk: int = RECORD_CHUNK,
    verbose: bool = True,
) -> dict[str, Any]:
    """Fill a migrated database with ``subjects`` subjects and ``records`` credit records.

    Resumable: a second call with the same arguments continues an interrupted run (and returns
    at once if everything is there). Refuses a database that holds other subjects or records.
    Returns counts, seconds and rows per second of each phase.
    """
    from xinyong.catalog.loader import load_catalog
    from xinyong.catalog.service import ensure_catalog_version
    from xinyong.subjects.service import insert_subjects

    say = _say if verbose else (lambda _m: None)
    today = clock.today()
    t_all = time.perf_counter()
    state = _state(engine)
    if state["subjects"] != state["scale_subjects"] or state["foreign_records"]:
        raise ScaleError(
            f"数据库不为空：已有 {state['subjects'] - state['scale_subjects']} 个非合成主体、"
            f"{state['foreign_records']} 条归集记录；scale 只能填充空库（或续跑此前中断的 scale）"
        )
    if state["scale_subjects"] > subjects or state["records"] > records:
        raise ScaleError(
            f"数据库已有 {state['scale_subjects']} 个主体、{state['records']} 条记录，多于所要求的"
            f" {subjects} / {records}：请用空库"
        )
    stats: dict[str, Any] = {"subjects": subjects, "records": records, "seed": seed}
    if state["scale_subjects"] == subjects and state["records"] == records:
        say(f"complete: {subjects:,} subjects, {records:,} records")
        return {
            **stats,
            "subjects_per_second": 0,
            "records_per_second": 0,
            "subjects_in_db": subjects,
            "records_in_db": records,
            "already_complete": True,
        }
    catalog = load_catalog()
    with engine.begin() as conn:
        ensure_catalog_version(conn, catalog)
    dept_ids = _ensure_departments(engine)

    # ---- subjects
    t0 = time.perf_counter()
    done = state["scale_subjects"]
    if done:
        say(f"resuming: {done:,} subjects already there")
    while done < subjects:
        n = min(SUBJECT_CHUNK, subjects - done)
        frame = generate_subjects(seed, done, n, today)
        with engine.begin() as conn:
            insert_subjects(conn, frame)
        done += n
        if progress:
            progress("subjects", done, subjects)
        el = time.perf_counter() - t0
        say(f"subjects {done:,}/{subjects:,}  {(done - state['scale_subjects']) / el:,.0f}/s")
    new_subjects = subjects - state["scale_subjects"]
    stats["subjects_seconds"] = round(time.perf_counter() - t0, 2)
    stats["subjects_per_second"] = round(new_subjects / max(stats["subjects_seconds"], 1e-9))

    # ---- records
    t0 = time.perf_counter()
    with engine.connect() as conn:
        ids = np.array(
            conn.exec_driver_sql(f"SELECT id FROM subject WHERE source = '{SOURCE}' ORDER BY id")
            .scalars()
            .all(),
            dtype=np.int64,
        )
    counts = record_counts(seed, subjects, records)
    bounds = _chunk_bounds(counts, record_chunk) if records else []
    written = state["records"]
    # A chunk is done when its last subject that has records has them (chunks commit whole).
    done_up_to = state["max_record_subject"]
    todo = []
    for k, (a, b) in enumerate(bounds):
        nz = np.flatnonzero(counts[a:b])
        if nz.size == 0 or ids[a + nz[-1]] <= done_up_to:
            continue
        if ids[a + nz[0]] <= done_up_to:
            raise ScaleError(
                "credit_record ends inside a chunk: not filled by scale with these sizes"
            )
        todo.append((k, a, b))
    dropped: dict[str, str] = {}
    inserted = 0
    if todo:
        dropped = _drop_indexes(engine)
        with engine.connect() as conn:
            subj_all = pl.DataFrame(
                conn.execute(
                    text("SELECT id, name, uscc, city FROM subject WHERE id >= :a ORDER BY id"),
                    {"a": int(ids[todo[0][1]])},
                ).all(),
                schema={
                    "subject_id": pl.Int64,
                    "name": pl.String,
                    "uscc": pl.String,
                    "city": pl.String,
                },
                orient="row",
            ).with_columns(pl.col("city").fill_null("本市"))
        offset0 = todo[0][1]
        if subj_all.height != ids.size - offset0:
            raise ScaleError("the scale subjects are not numbered contiguously")
        remaining = int(counts[offset0:].sum())
        with engine.begin() as conn:  # all ids at once, so chunks can be prepared ahead
            first_id = allocate_ids(conn, "credit_record", remaining)
        sqlite = engine.dialect.name == "sqlite"
        now = clock.now()
        created: Any = (
            now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if sqlite else now
        )

        def prepare(job: tuple[int, int, int]) -> tuple[int, Any, Any, float]:
            k, a, b = job
            t = time.perf_counter()
            sub = subj_all.slice(a - offset0, b - a)
            start_id = first_id + int(counts[offset0:a].sum())
            frame = generate_records(seed, k, sub, counts[a:b], start_id, today, catalog, dept_ids)
            frame = frame.with_columns(pl.lit(created).alias("created_at"))
            narrow = prepared_payload(frame.select(RECORD_COLUMNS), sqlite)
            wide = prepared_payload(frame.select(DETAIL_COLUMNS), sqlite)
            return frame.height, narrow, wide, time.perf_counter() - t

        # Generation (Polars, mostly outside the GIL) of chunk k+1 overlaps the write of chunk k.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(prepare, todo[0])
            for i in range(len(todo)):
                n, narrow, wide, t_gen = pending.result()
                if i + 1 < len(todo):
                    pending = pool.submit(prepare, todo[i + 1])
                t_write = time.perf_counter()
                with engine.begin() as conn:  # both tables of a chunk, or neither
                    write_payload(conn, "credit_record", RECORD_COLUMNS, narrow)
                    write_payload(conn, "credit_record_detail", DETAIL_COLUMNS, wide)
                t_end = time.perf_counter()
                written += n
                inserted += n
                if progress:
                    progress("records", written, records)
                el = time.perf_counter() - t0
                say(
                    f"records {written:,}/{records:,}  chunk {n:,} rows: prepare {t_gen:.1f}s "
                    f"(overlapped) write {t_end - t_write:.1f}s  overall {inserted / el:,.0f}/s"
                )
    stats["records_seconds"] = round(time.perf_counter() - t0, 2)
    stats["records_per_second"] = round(inserted / max(stats["records_seconds"], 1e-9))

    # ---- indexes and statistics
    t0 = time.perf_counter()
    _restore_indexes(engine, dropped, say)
    if new_subjects or inserted:
        _analyze(engine)
    stats["index_seconds"] = round(time.perf_counter() - t0, 2)
    stats["total_seconds"] = round(time.perf_counter() - t_all, 2)
    final = _state(engine)
    stats["subjects_in_db"] = final["scale_subjects"]
    stats["records_in_db"] = final["records"]
    say(
        f"done: {final['scale_subjects']:,} subjects ({stats['subjects_per_second']:,}/s), "
        f"{final['records']:,} records ({stats['records_per_second']:,}/s), indexes+analyze "
        f"{stats['index_seconds']}s, total {stats['total_seconds']}s"
    )
    return stats


def _drop_indexes(engine: Engine) -> dict[str, str]:
    """Drop credit_record's secondary indexes for the load; returns their DDL. Indexes the
    models declare but the database lacks (an earlier run died before re-creating them) are
    included, so they are re-created too."""
    with engine.begin() as conn:
        present = _secondary_indexes(conn, "credit_record")
        wanted = _model_indexes(conn, "credit_record")
        ddl = {**wanted, **present}
        for name in present:
            conn.exec_driver_sql(f"DROP INDEX {name}")
    return ddl


def _restore_indexes(engine: Engine, ddl: dict[str, str], say: Callable[[str], None]) -> None:
    with engine.begin() as conn:
        present = _secondary_indexes(conn, "credit_record")
        missing = {**_model_indexes(conn, "credit_record"), **ddl}
        for name, sql in missing.items():
            if name in present:
                continue
            t = time.perf_counter()
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
            conn.exec_driver_sql(sql)
            say(f"index {name}: {time.perf_counter() - t:.1f}s")


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) credit_record")
            conn.exec_driver_sql("VACUUM (ANALYZE) credit_record_detail")
            conn.exec_driver_sql("VACUUM (ANALYZE) subject")
            conn.exec_driver_sql("VACUUM (ANALYZE) subject_name")
            conn.exec_driver_sql("VACUUM (ANALYZE) subject_name_gram")
            conn.exec_driver_sql("VACUUM (ANALYZE) gram_stat")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
            conn.exec_driver_sql("ANALYZE")
