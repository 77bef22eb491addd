"""Why a subject has its grade: every indicator's feature value, points and weight, the veto
hits, and the records that fed each feature — recomputed with the very SQL and scoring of the
batch, for the model version and date of the stored result."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import literal_column, select
from sqlalchemy.engine import Connection

from xinyong.catalog.loader import load_catalog
from xinyong.core import clock
from xinyong.core.errors import DomainError
from xinyong.evaluation.features import department_ids, features_frame, ids_in, plan
from xinyong.evaluation.models import EvaluationResult
from xinyong.evaluation.scoring import score_frame, split_codes
from xinyong.evaluation.service import ModelNotFound, get_model
from xinyong.evaluation.spec import AttributeFeature, EvalModel, RecordFeature
from xinyong.records.models import CreditRecord
from xinyong.records.profile import visible_clause
from xinyong.subjects.models import Subject

RECORD_LIMIT = 200


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return value


def explain(
    conn: Connection,
    subject_id: int,
    model_name: str,
    *,
    as_of: dt.date | None = None,
    view: str = "government",
) -> dict[str, Any]:
    """``view`` decides which records are listed (public: only what the public may see); the
    features themselves are computed on every record the model counts, as in the batch."""
    stored = conn.execute(
        select(EvaluationResult.__table__).where(
            EvaluationResult.model_name == model_name, EvaluationResult.subject_id == subject_id
        )
    ).first()
    if stored is None and as_of is None:
        raise ModelNotFound(model_name)
    version = stored.model_version if stored is not None else None
    if as_of is None:
        assert stored is not None
        as_of = (
            stored.as_of
            if isinstance(stored.as_of, dt.date)
            else dt.date.fromisoformat(str(stored.as_of))
        )
    model = get_model(conn, model_name, version)
    depts = department_ids(conn)
    lazy, _fp = features_frame(conn, model, as_of, depts, ids_in([subject_id]))
    features = lazy.collect()
    if features.height == 0:
        raise DomainError(
            "SUBJECT_OUT_OF_SCOPE", f"该主体不在模型“{model.title}”的评价范围内", status=404
        )
    row = score_frame(model, features).row(0, named=True)
    return {
        "model": model.name,
        "version": model.version,
        "title": model.title,
        "visibility": model.visibility,
        "as_of": as_of.isoformat(),
        "score": round(row["score"], 2) if row["score"] is not None else None,
        "grade": row["grade"],
        "grade_name": {g.code: g.name for g in model.grades}.get(row["grade"] or ""),
        "colour": row["colour"],
        "colour_name": {c.code: c.name for c in model.colours}.get(row["colour"] or ""),
        "tags": [
            {"code": t.code, "name": t.name, "when": t.when}
            for t in model.tags
            if t.code in split_codes(row["tags"])
        ],
        "vetoes": [
            {
                "code": v.code,
                "name": v.name,
                "when": v.when,
                "max_grade": v.max_grade,
                "hit": bool(row[f"veto_{v.code}"]),
                "citation": v.citation,
            }
            for v in model.vetoes
        ],
        "indicators": _tree(model, row),
        "features": {
            name: {
                "label": f.label,
                "value": _json_value(row[name]),
                "kind": "attribute" if isinstance(f, AttributeFeature) else f.aggregate,
            }
            for name, f in model.features.items()
        },
        "counting": model.counting.model_dump(),
        "records": _records(conn, model, subject_id, as_of, depts, view),
        "stored_matches": stored is not None
        and stored.grade == row["grade"]
        and stored.colour == row["colour"],
        "citations": [c.model_dump() for c in model.citations],
    }


def _tree(model: EvalModel, row: dict[str, Any]) -> list[dict[str, Any]]:
    leaf_by_code = {leaf.code: leaf for leaf in model.leaves}
    children: dict[str | None, list[Any]] = {}
    for node in model.nodes:
        children.setdefault(node.parent, []).append(node)

    def build(node: Any) -> dict[str, Any]:
        leaf = leaf_by_code.get(node.code)
        out: dict[str, Any] = {
            "code": node.code,
            "name": node.name,
            "level": node.level,
            "weight": round(node.weight, 4),
        }
        if leaf is not None:
            pts = row[f"pt_{leaf.code}"]
            feat = model.features[leaf.feature]
            out.update(
                points=round(pts, 2),
                contribution=round(pts * leaf.weight / 100.0, 4),
                feature=leaf.feature,
                feature_label=feat.label,
                value=_json_value(row[leaf.feature]),
            )
            return out
        kids = [build(k) for k in children.get(node.code, [])]
        contribution = sum(k["contribution"] for k in kids)
        out.update(
            points=round(contribution * 100.0 / node.weight, 2) if node.weight else 0.0,
            contribution=round(contribution, 4),
            children=kids,
        )
        return out

    return [build(n) for n in children.get(None, [])]


def _records(
    conn: Connection,
    model: EvalModel,
    subject_id: int,
    as_of: dt.date,
    depts: dict[str, int],
    view: str,
) -> list[dict[str, Any]]:
    """The subject's records the viewer may see, each with the features it counts toward."""
    fp = plan(model, conn.dialect.name, as_of, depts)
    record_features = [n for n, f in model.features.items() if isinstance(f, RecordFeature)]
    if not record_features:
        return []
    r = CreditRecord
    flags = [
        literal_column(f"CASE WHEN {fp.counting} AND {fp.predicates[n]} THEN 1 ELSE 0 END")
        for n in record_features
    ]
    kind = conn.scalar(select(Subject.kind).where(Subject.id == subject_id))
    stmt = (
        select(
            r.id,
            r.record_type,
            r.title,
            r.decided_on,
            r.status,
            r.penalty_class,
            r.publicity_until,
            *flags,
        )
        .where(
            r.subject_id == subject_id,
            r.is_current.is_(True),
            visible_clause(view, clock.today(), kind),
        )  # type: ignore[arg-type]
        .order_by(r.decided_on.desc(), r.id.desc())
        .limit(RECORD_LIMIT)
    )
    catalog = load_catalog()
    out = []
    for row in conn.execute(stmt).all():
        counted = [n for i, n in enumerate(record_features) if row[7 + i]]
        rtype = catalog.types.get(row[1])
        out.append(
            {
                "id": int(row[0]),
                "record_type": row[1],
                "label": rtype.label if rtype else row[1],
                "title": row[2],
                "decided_on": str(row[3]) if row[3] is not None else None,
                "status": row[4],
                "penalty_class": row[5],
                "publicity_until": str(row[6]) if row[6] is not None else None,
                "counted_in": counted,
            }
        )
    return out
