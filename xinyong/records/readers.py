"""Streaming readers: a file (CSV in any of the encodings departments use, XLSX, JSON lines)
becomes a sequence of string-typed Polars chunks with their spreadsheet row numbers.

Nothing here holds the whole file: a 5-million-row CSV goes through in blocks, so peak memory
does not grow with the file.

Row numbers are what an operator sees when opening the file in Excel or WPS: the header is row
1, the first record row 2 (for CSV records that span several lines because of line breaks in a
cell, the number counts records, as a spreadsheet does). JSON lines are numbered by line.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from xinyong.records.errors import IngestError

ROW = "_row"
# Rows per chunk: large enough for column-wise work to pay, small enough that a chunk's
# intermediate frames stay well inside the 500 MB budget of a streamed file (penalty layout,
# 1M rows: 100,000-row chunks peaked at ~620 MB RSS, 50,000 at ~475 MB — 509 MB at 5M rows —
# and 25,000 at ~410 MB, where the peak moves to the final SQL steps).
CHUNK_ROWS = 25_000


@dataclass
class Source:
    format: str  # csv / xlsx / jsonl
    encoding: str | None
    header: list[str]
    chunks: Iterator[pl.DataFrame]


def detect_format(name: str, head: bytes) -> str:
    lower = name.lower()
    if lower.endswith((".xlsx", ".xlsm")) or head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "jsonl"
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK and GB2312).

    A department's export from an older Windows system is GBK; a strict UTF-8 decode of the first
    block tells the two apart reliably because GBK's double bytes are not valid UTF-8 sequences.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        sample.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:
            return "gb18030"
    raise IngestError("FILE_ENCODING", "无法识别文件编码，请以 UTF-8 或 GBK 编码保存后重新上传")


def _clean_header(names: list[str]) -> list[str]:
    return [str(n).strip().lstrip("\ufeff") if n is not None else "" for n in names]


def read_csv(stream: IO[bytes], name: str = "") -> Source:
    sample = stream.read(256 * 1024)
    encoding = detect_encoding(sample)
    stream.seek(0)
    py_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    if encoding == "utf-8-sig":
        stream.read(3)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    try:
        # The header is parsed on its own copy of the first line(s): a probe reader on the same
        # stream would read ahead and take bytes away from the real reader's first block.
        # Every column is then read as text, because type inference would turn codes like "0001"
        # into numbers and lose their zeros.
        start = 3 if encoding == "utf-8-sig" else 0
        stream.seek(start)
        head = stream.readline()
        # a header cell may be quoted and hold a line break: read until the quotes balance
        while head.count(b'"') % 2 and (more := stream.readline()):
            head += more
        probe = pacsv.open_csv(
            io.BytesIO(head),
            read_options=pacsv.ReadOptions(encoding=py_encoding, use_threads=False),
            parse_options=parse,
        )
        header = _clean_header(probe.schema.names)
        probe.close()
        stream.seek(start)
        names = [f"c{i}" for i in range(len(header))]
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                # Small blocks: Arrow's parser holds tens of times the block size while it
                # works (8 MiB blocks peaked at ~400 MB RSS, 1 MiB at ~75 MB); blocks are
                # gathered into CHUNK_ROWS-row chunks below, so the rest of the pipeline still
                # works on large frames.
                encoding=py_encoding, block_size=1 << 20, column_names=names, skip_rows=1
            ),
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise IngestError("FILE_UNREADABLE", f"无法读取 CSV 文件：{exc}") from exc

    def frame(batches: list[pa.RecordBatch], row: int) -> pl.DataFrame:
        df = pl.from_arrow(pa.Table.from_batches(batches))
        assert isinstance(df, pl.DataFrame)
        df.columns = header
        return df.with_columns(pl.int_range(row, row + df.height, dtype=pl.Int64).alias(ROW))

    def chunks() -> Iterator[pl.DataFrame]:
        row = 2
        batches: list[pa.RecordBatch] = []
        size = 0
        try:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                batches.append(batch)
                size += batch.num_rows
                if size >= CHUNK_ROWS:
                    yield frame(batches, row)
                    row += size
                    batches, size = [], 0
            if batches:
                yield frame(batches, row)
        except pa.ArrowInvalid as exc:
            raise IngestError(
                "FILE_MALFORMED", f"CSV 文件第 {row + size} 行附近格式错误：{exc}"
            ) from exc

    return Source("csv", encoding, header, chunks())


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def read_xlsx(stream: IO[bytes], name: str = "") -> Source:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise IngestError("FILE_UNREADABLE", f"无法读取 Excel 文件：{exc}") from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    try:
        header = _clean_header(list(next(rows)))
    except StopIteration:
        raise IngestError("FILE_EMPTY", "Excel 文件没有内容") from None
    width = len(header)

    def chunks() -> Iterator[pl.DataFrame]:
        row = 2
        buf: list[list[str | None]] = []
        for values in rows:
            cells = [_cell_text(v) for v in values[:width]]
            cells += [None] * (width - len(cells))
            buf.append(cells)
            if len(buf) >= CHUNK_ROWS:
                yield _frame(buf, header, row)
                row += len(buf)
                buf = []
        if buf:
            yield _frame(buf, header, row)
        wb.close()

    return Source("xlsx", None, header, chunks())


def _frame(rows: list[list[str | None]], header: list[str], first_row: int) -> pl.DataFrame:
    df = pl.DataFrame(rows, schema=[(f"c{i}", pl.String) for i in range(len(header))], orient="row")
    df.columns = header
    # Excel keeps fully empty rows at the end of many sheets: they are not records.
    df = df.with_columns(pl.int_range(first_row, first_row + df.height, dtype=pl.Int64).alias(ROW))
    return df.filter(~pl.all_horizontal(pl.exclude(ROW).is_null()))


def read_jsonl(stream: IO[bytes], name: str = "") -> Source:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig")
    first: dict[str, Any] | None = None
    line_no = 0
    for line in text:
        line_no += 1
        if line.strip():
            first = _json_row(line, line_no)
            break
    if first is None:
        raise IngestError("FILE_EMPTY", "JSON 文件没有记录")
    header = list(first.keys())

    def chunks() -> Iterator[pl.DataFrame]:
        nonlocal line_no
        buf: list[dict[str, Any]] = [dict(first, **{ROW: line_no})]
        for line in text:
            line_no += 1
            if not line.strip():
                continue
            item = _json_row(line, line_no)
            for key in item:
                if key not in header:
                    header.append(key)
            item[ROW] = line_no
            buf.append(item)
            if len(buf) >= CHUNK_ROWS:
                yield records_frame(buf)
                buf = []
        if buf:
            yield records_frame(buf)

    return Source("jsonl", "utf-8", header, chunks())


def _json_row(line: str, line_no: int) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise IngestError("FILE_MALFORMED", f"第 {line_no} 行不是有效的 JSON：{exc.msg}") from exc
    if not isinstance(item, dict):
        raise IngestError("FILE_MALFORMED", f"第 {line_no} 行应为一个 JSON 对象")
    return item


def records_frame(items: list[dict[str, Any]]) -> pl.DataFrame:
    """Dicts (JSON lines, an API push) → a text frame; ``_row`` must be set on each item."""
    keys: dict[str, None] = {}
    for item in items:
        for k in item:
            keys.setdefault(k, None)
    columns = {
        k: [
            None
            if (v := item.get(k)) is None
            else (
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else _cell_text(v)
            )
            for item in items
        ]
        for k in keys
        if k != ROW
    }
    df = pl.DataFrame(columns, schema={k: pl.String for k in columns})
    return df.with_columns(pl.Series(ROW, [int(item[ROW]) for item in items], dtype=pl.Int64))


def open_source(path: Path) -> Source:
    stream = path.open("rb")
    head = stream.read(8)
    stream.seek(0)
    fmt = detect_format(path.name, head)
    if fmt == "xlsx":
        return read_xlsx(stream, path.name)
    if fmt == "jsonl":
        return read_jsonl(stream, path.name)
    return read_csv(stream, path.name)
