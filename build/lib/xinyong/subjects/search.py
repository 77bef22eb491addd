"""Subject search: exact code, exact name, prefix, Chinese substring and fuzzy name match.

How it stays fast at a million subjects: every current and former name is cut into character
bigrams (``subject_name_gram``), and ``gram_stat`` knows how many subjects contain each bigram.
A query starts from its *rarest* bigram(s), so "腾讯" reads a few hundred index entries, not a
million names; the candidates are then verified with ``LIKE`` and ranked:

    code (0) · exact name (1) · name prefix (2) · substring (3) · former name (+0.5) · fuzzy (5)

then shorter names first. A query made only of very common bigrams ("有限公司", "科技") would have
hundreds of thousands of matches: for those the ranking is done over the first ``CANDIDATE_CAP``
candidates and the total is reported as an estimate (``total_is_estimate``), as search engines
do. When there are few substring matches, a fuzzy pass finds names that share most bigrams
with the query (typos, missing characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from xinyong.subjects.names import normalize_name

CANDIDATE_CAP = 3000
FUZZY_MIN_SCORE = 0.5
FUZZY_GRAMS = 4
USCC_LIKE = re.compile(r"^[0-9A-Z]{6,18}$")


@dataclass
class Hit:
    subject_id: int
    rank: float
    match: str
    matched_name: str | None = None


@dataclass
class SearchResult:
    query: str
    total: int
    items: list[dict[str, Any]] = field(default_factory=list)
    total_is_estimate: bool = False


def _grams(norm: str) -> list[str]:
    seen: dict[str, None] = {}
    for i in range(len(norm) - 1):
        seen.setdefault(norm[i : i + 2], None)
    return list(seen)


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_subjects(session: Session, q: str, *, limit: int = 20, offset: int = 0) -> SearchResult:
    # PostgreSQL rejects NUL characters in text; they never belong in a name or code.
    q = (q or "").replace("\x00", "").strip()
    if not q:
        return SearchResult(query=q, total=0)
    limit = max(1, min(limit, 100))
    offset = max(0, offset)
    norm = normalize_name(q)
    hits: dict[int, Hit] = {}
    estimate = False

    def add(sid: int, rank: float, match: str, name: str | None = None) -> None:
        old = hits.get(sid)
        if old is None or rank < old.rank:
            hits[sid] = Hit(sid, rank, match, name)

    conn = session.connection()
    code = norm.upper()
    if USCC_LIKE.match(code):
        for (sid,) in conn.execute(
            text("SELECT id FROM subject WHERE uscc >= :lo AND uscc < :hi ORDER BY uscc LIMIT 200"),
            {"lo": code, "hi": code + "\uffff"},
        ):
            add(int(sid), 0 if len(code) == 18 else 0.5, "code")

    # Exact and prefix matches come straight from the name index.
    for sid, name_norm, current in conn.execute(
        text(
            "SELECT subject_id, name_norm, is_current FROM subject_name"
            " WHERE name_norm >= :lo AND name_norm < :hi ORDER BY name_norm LIMIT :cap"
        ),
        {"lo": norm, "hi": norm + "\uffff", "cap": CANDIDATE_CAP},
    ):
        rank = 1.0 if name_norm == norm else 2.0
        add(
            int(sid),
            rank + (0 if current else 0.5),
            "exact" if rank == 1 else "prefix",
            None if current else name_norm,
        )

    grams = _grams(norm)
    if grams:
        stats = dict(
            conn.execute(
                text("SELECT gram, df FROM gram_stat WHERE gram IN :grams").bindparams(
                    bindparam("grams", expanding=True)
                ),
                {"grams": grams},
            ).all()
        )
        if all(g in stats for g in grams):
            rare = sorted(grams, key=lambda g: stats[g])
            estimate = stats[rare[0]] > CANDIDATE_CAP
            _substring(conn, norm, rare, add)
        # Fuzzy matching is for queries that found (almost) nothing: a typo, a missing
        # character. When the name itself or names starting with it were found, it only adds
        # noise and most of the time.
        found_name = any(h.rank < 3 for h in hits.values())
        if not found_name and len(hits) < offset + limit:
            _fuzzy(conn, norm, grams, stats, add)

    ordered = sorted(hits.values(), key=lambda h: (h.rank, h.subject_id))
    page = ordered[offset : offset + limit]
    total = len(ordered)
    if estimate:
        total = max(total, int(stats[rare[0]]))  # type: ignore[possibly-undefined]
    return SearchResult(
        query=q, total=total, items=_describe(conn, page, norm), total_is_estimate=estimate
    )


def _substring(conn: Any, norm: str, rare: list[str], add: Any) -> None:
    params: dict[str, Any] = {"g0": rare[0], "pat": f"%{_escape_like(norm)}%", "cap": CANDIDATE_CAP}
    second = ""
    if len(rare) > 1:
        second = (
            " AND EXISTS (SELECT 1 FROM subject_name_gram g1"
            " WHERE g1.gram = :g1 AND g1.subject_id = g.subject_id)"
        )
        params["g1"] = rare[1]
    rows = conn.execute(
        text(
            "SELECT sn.subject_id, sn.name_norm, sn.is_current FROM"
            " (SELECT g.subject_id FROM subject_name_gram g WHERE g.gram = :g0"
            + second
            + "  LIMIT :cap) c JOIN subject_name sn ON sn.subject_id = c.subject_id"
            " WHERE sn.name_norm LIKE :pat ESCAPE '\\'"
        ),
        params,
    )
    for sid, name_norm, current in rows:
        if name_norm == norm:
            rank = 1.0
        elif name_norm.startswith(norm):
            rank = 2.0
        else:
            # shorter names first among substring matches
            rank = 3.0 + min(len(name_norm), 99) / 1000
        add(
            int(sid),
            rank + (0 if current else 0.5),
            "substring" if rank >= 3 else ("exact" if rank == 1 else "prefix"),
            None if current else name_norm,
        )


def _fuzzy(conn: Any, norm: str, grams: list[str], stats: dict[str, int], add: Any) -> None:
    # The rarest few bigrams decide: common ones ("有限", "公司") match half the registry.
    usable = sorted(
        (g for g in grams if 0 < stats.get(g, 0) <= CANDIDATE_CAP), key=lambda g: stats[g]
    )[:FUZZY_GRAMS]
    if len(usable) < 2:
        return
    need = max(2, int(len(usable) * FUZZY_MIN_SCORE))
    rows = conn.execute(
        text(
            "SELECT g.subject_id, COUNT(*) AS hits FROM subject_name_gram g WHERE g.gram IN :grams"
            " GROUP BY g.subject_id HAVING COUNT(*) >= :need ORDER BY hits DESC, g.subject_id"
            " LIMIT 200"
        ).bindparams(bindparam("grams", expanding=True)),
        {"grams": usable, "need": need},
    ).all()
    if not rows:
        return
    names = dict(
        conn.execute(
            text("SELECT id, name_norm FROM subject WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": [int(r[0]) for r in rows]},
        ).all()
    )
    for sid, shared in rows:
        name = names.get(sid, "")
        # share of the query's distinctive bigrams the name holds, then closeness of length
        score = int(shared) / len(usable)
        length_gap = abs(len(name) - len(norm)) / max(len(norm), 1)
        if score >= FUZZY_MIN_SCORE:
            add(int(sid), 5 + (1 - score) + min(length_gap, 0.99) / 10, "fuzzy")


def _describe(conn: Any, page: list[Hit], norm: str) -> list[dict[str, Any]]:
    if not page:
        return []
    rows = (
        conn.execute(
            text(
                "SELECT id, uscc, name, kind, status, region_code, province, city, industry_section,"
                " established_on FROM subject WHERE id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": [h.subject_id for h in page]},
        )
        .mappings()
        .all()
    )
    by_id = {int(r["id"]): dict(r) for r in rows}
    out = []
    for h in page:
        row = by_id.get(h.subject_id)
        if row is None:
            continue
        est = row.get("established_on")
        row["established_on"] = est.isoformat() if hasattr(est, "isoformat") else est
        row["match"] = h.match
        row["matched_former_name"] = h.matched_name
        row["rank"] = round(h.rank, 3)
        out.append(row)
    return out
