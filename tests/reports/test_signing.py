"""The signature on a report verifies with pyHanko and with poppler's ``pdfsig``; a tampered
file fails with both. ``pdfsig`` exits 0 even on a digest mismatch, so its output is read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.reports.conftest import World, issue, pdfsig
from xinyong.core.db import session_scope
from xinyong.core.errors import DomainError
from xinyong.reports import pdf, service, signing
from xinyong.reports.config import ReportSettings, use_settings


def _flip_in_signed_range(data: bytes) -> bytes:
    """Change one byte of the page content (inside the first signed byte range)."""
    out = bytearray(data)
    at = out.find(b"stream\n", 200) + 40  # inside the first content stream, not the /Contents
    out[at] ^= 0x01
    return bytes(out)


def _append_update(data: bytes) -> bytes:
    """An incremental update after the signature that draws new content on page 1."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    extra = generic.StreamObject(stream_data=b"0 0 1 rg 100 400 300 80 re f")
    contents = page["/Contents"]
    arr = (contents if isinstance(contents, generic.ArrayObject)
           else generic.ArrayObject([contents]))
    arr.append(w.add_object(extra))
    page["/Contents"] = arr
    w.update_container(page_ref)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_signed_report_verifies_with_pyhanko_and_pdfsig(world: World, tmp_path: Path) -> None:
    serial, data = issue(world.s1_code, "public")
    result = signing.verify_pdf(data)
    assert result.ok, result
    assert result.signer == "公共信用信息平台报告签章（演示）"
    assert result.reason == f"公共信用信息报告 {serial}" and result.signed_at is not None
    out = pdfsig(data, tmp_path)
    assert "Signature is Valid." in out, out
    assert "Total document signed" in out and "Not total document signed" not in out
    assert "ETSI.CAdES.detached" in out  # PAdES
    assert "Signing Hash Algorithm: SHA-256" in out
    with session_scope() as session:
        check = service.verify_upload(session, data)
    assert check["ok"] and check["issued_by_us"] and check["report"]["serial"] == serial


def test_flipped_byte_fails_with_both(world: World, tmp_path: Path) -> None:
    _, data = issue(world.s1_code, "public")
    bad = _flip_in_signed_range(data)
    result = signing.verify_pdf(bad)
    assert not result.ok and not result.intact
    assert "篡改" in result.summary()
    out = pdfsig(bad, tmp_path)
    assert "Digest Mismatch" in out and "Signature is Valid." not in out, out
    with session_scope() as session:
        check = service.verify_upload(session, bad)
    assert not check["ok"] and not check["issued_by_us"]
    assert check["message"].startswith("核验未通过")


def test_appended_update_fails_with_both(world: World, tmp_path: Path) -> None:
    _, data = issue(world.s1_code, "public")
    bad = _append_update(data)
    assert bad.startswith(data) and len(bad) > len(data)
    result = signing.verify_pdf(bad)
    assert result.intact and not result.whole_file and not result.ok
    assert "签署之后被追加修改" in result.summary()
    out = pdfsig(bad, tmp_path)
    # the signed revision itself is intact; pdfsig says the signature no longer covers the file
    assert "Not total document signed" in out, out
    with session_scope() as session:
        assert not service.verify_upload(session, bad)["ok"]


def test_signature_by_another_key_is_not_ours(world: World, tmp_path: Path) -> None:
    raw = pdf.render("公共信用信息报告（公开版）", [pdf.Paragraph("伪造的报告")], serial="XY-2026-000001-AAAA")
    use_settings(ReportSettings(signing_dir=tmp_path / "forger"))
    forged = signing.sign_pdf(raw, reason="伪造")
    use_settings(ReportSettings(signing_dir=tmp_path.parent / "unused-keys"))
    result = signing.verify_pdf(forged)
    assert result.intact and result.valid and result.whole_file and not result.ours
    assert "不是本平台的证书" in result.summary()
    # pdfsig: a valid signature, but not one from a trusted certificate
    out = pdfsig(forged, tmp_path)
    assert "Signature is Valid." in out and "Certificate Validation: Certificate is Trusted" not in out


def test_unsigned_and_non_pdf_uploads(world: World, tmp_path: Path) -> None:
    plain = pdf.render("无签名", [pdf.Paragraph("未签名文件")])
    assert signing.verify_pdf(plain).summary() == "文件中没有数字签名。"
    with session_scope() as session:
        assert service.verify_upload(session, plain)["ok"] is False
        with pytest.raises(DomainError) as exc:
            service.verify_upload(session, b"GIF89a not a pdf")
        assert exc.value.code == "REPORT_FILE_NOT_PDF" and exc.value.status == 415
        use_settings(ReportSettings(signing_dir=tmp_path / "k", verify_upload_limit=1000))
        with pytest.raises(DomainError) as exc:
            service.verify_upload(session, plain)
        assert exc.value.code == "REPORT_FILE_TOO_LARGE" and exc.value.status == 413


def test_pem_key_configured_by_the_administrator(world: World, tmp_path: Path) -> None:
    key, cert = signing.generate_self_signed(tmp_path / "office", common_name="某市信用办签章")
    use_settings(ReportSettings(signing_key=key, signing_cert=cert))
    signed = signing.sign_pdf(pdf.render("测试", [pdf.Paragraph("内容")]), reason="测试")
    result = signing.verify_pdf(signed)
    assert result.ok and result.signer == "某市信用办签章"
    assert (key.stat().st_mode & 0o777) == 0o600
    use_settings(ReportSettings(signing_key=key))  # a PEM key without its certificate
    with pytest.raises(signing.SigningKeyError):
        signing.sign_pdf(b"%PDF-1.4", reason="x")
