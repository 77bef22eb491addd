"""Government dashboards of a model's results: grade distribution by industry and by region,
the distribution over time (one point per batch run), and the subjects that moved grade in a
period — as data for the API and the page, and as an XLSX workbook."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from xinyong.core import clock
from xinyong.evaluation.service import get_model, grade_changes
from xinyong.evaluation.spec import EvalModel
from xinyong.subjects.industry import section_label
from xinyong.subjects.regions import region_name

UNKNOWN = "未知"


def _classes(model: EvalModel) -> tuple[str, list[str], dict[str, str]]:
    if model.leaves:
        return "grade", model.grade_codes, {g.code: f"{g.code}（{g.name}）" for g in model.grades}
    return "colour", [c.code for c in model.colours], {c.code: c.name for c in model.colours}


def _pivot(rows: list[Any], order: list[str], label: Any) -> list[dict[str, Any]]:
    table: dict[str, dict[str, int]] = {}
    for key, cls, n in rows:
        table.setdefault(key or "", {})[cls or ""] = int(n)
    out = []
    for key in sorted(table, key=lambda k: (-sum(table[k].values()), k)):
        counts = {c: table[key].get(c, 0) for c in order}
        out.append(
            {
                "key": key,
                "label": label(key) if key else UNKNOWN,
                "counts": counts,
                "total": sum(table[key].values()),
            }
        )
    return out


def dashboard(
    conn: Connection,
    model_name: str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    movers_limit: int = 200,
) -> dict[str, Any]:
    model = get_model(conn, model_name)
    column, order, names = _classes(model)
    params = {"m": model.name}
    by_industry = conn.execute(
        text(
            f"SELECT s.industry_section, r.{column}, COUNT(*) FROM evaluation_result r"
            " JOIN subject s ON s.id = r.subject_id WHERE r.model_name = :m GROUP BY 1, 2"
        ),
        params,
    ).all()
    # GB/T 2260: the first two digits are the province.
    by_region = conn.execute(
        text(
            f"SELECT SUBSTR(s.region_code, 1, 2), r.{column}, COUNT(*) FROM evaluation_result r"
            " JOIN subject s ON s.id = r.subject_id WHERE r.model_name = :m GROUP BY 1, 2"
        ),
        params,
    ).all()
    runs = conn.execute(
        text(
            "SELECT as_of, distribution, subjects, changed, model_version FROM evaluation_run"
            " WHERE model_name = :m AND kind = 'batch' ORDER BY as_of, id"
        ),
        params,
    ).all()
    trend: dict[str, dict[str, Any]] = {}
    for as_of, dist, subjects, changed, version in runs:
        if isinstance(dist, str):
            dist = json.loads(dist)
        # The last batch of a day stands for that day.
        trend[str(as_of)] = {
            "as_of": str(as_of),
            "version": version,
            "subjects": subjects,
            "changed": changed,
            "counts": {c: (dist or {}).get(c, 0) for c in order},
        }
    today_total = {c: 0 for c in order}
    for row in by_industry:
        if row[1] in today_total:
            today_total[row[1]] += int(row[2])
    since = since or (clock.today() - dt.timedelta(days=30))
    movers = grade_changes(conn, model.name, since, until, movers_limit) if model.leaves else []
    return {
        "model": model.name,
        "version": model.version,
        "title": model.title,
        "classes": [{"code": c, "label": names[c]} for c in order],
        "by": column,
        "total": today_total,
        "by_industry": _pivot(
            by_industry, order, lambda k: f"{k} {section_label(k) or ''}".strip()
        ),
        "by_region": _pivot(by_region, order, lambda k: region_name(k + "0000") or k),
        "trend": list(trend.values()),
        "since": since.isoformat(),
        "until": until.isoformat() if until else None,
        "movers": movers,
    }


def dashboard_xlsx(data: dict[str, Any]) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = book.add_format({"bold": True})
    classes = [c["label"] for c in data["classes"]]
    codes = [c["code"] for c in data["classes"]]

    def sheet(name: str, head: str, rows: list[dict[str, Any]]) -> None:
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, [head, *classes, "合计"], bold)
        for i, r in enumerate(rows, start=1):
            ws.write_row(i, 0, [r["label"], *(r["counts"][c] for c in codes), r["total"]])
        ws.set_column(0, 0, 28)

    sheet("按行业", "行业门类", data["by_industry"])
    sheet("按地区", "省级地区", data["by_region"])
    ws = book.add_worksheet("变化趋势")
    ws.write_row(0, 0, ["评价日", "模型版本", *classes, "主体数", "结果变化数"], bold)
    for i, t in enumerate(data["trend"], start=1):
        ws.write_row(
            i,
            0,
            [
                t["as_of"],
                t["version"],
                *(t["counts"][c] for c in codes),
                t["subjects"],
                t["changed"],
            ],
        )
    ws = book.add_worksheet("等级变动")
    ws.write_row(0, 0, ["统一社会信用代码", "名称", "评价日", "原等级", "新等级", "得分"], bold)
    for i, m in enumerate(data["movers"], start=1):
        ws.write_row(i, 0, [m["uscc"], m["name"], m["as_of"], m["from"], m["to"], m["score"]])
    ws.set_column(0, 1, 24)
    book.close()
    return buf.getvalue()
