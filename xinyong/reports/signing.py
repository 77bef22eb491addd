"""PAdES signatures on the platform's PDFs (pyHanko), and their verification.

ECDSA P-256 is the demo key's algorithm: it signs in ~20 ms where RSA-2048 takes ~90 ms (see
STACK-NOTES), which is what lets one process issue ≥ 10 signed reports per second. An
administrator's own key (RSA or EC, PEM or PKCS#12) works the same way.

Verification answers four separate questions, because a forger can get some right: is there a
signature; does the signed byte range still hash to the signed digest (``intact``); does it cover
the whole file, i.e. nothing was appended after signing (``whole_file``); and was it made with the
platform's certificate (``ours``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from xinyong.core import clock
from xinyong.reports.config import report_settings

T = TypeVar("T")

__all__ = [
    "SigningKeyError",
    "VerifyResult",
    "certificate_fingerprint",
    "ensure_demo_key",
    "generate_self_signed",
    "reset_signer",
    "sign_pdf",
    "verify_pdf",
]

log = logging.getLogger(__name__)

FIELD_NAME = "XinyongSignature"
DEMO_KEY = "report-signing.key.pem"
DEMO_CERT = "report-signing.cert.pem"


class SigningKeyError(RuntimeError):
    """The configured signing key or certificate cannot be loaded."""


@dataclass(frozen=True)
class VerifyResult:
    signed: bool
    intact: bool = False
    valid: bool = False
    whole_file: bool = False
    ours: bool = False
    signer: str | None = None
    signed_at: dt.datetime | None = None
    reason: str | None = None
    problem: str | None = None  # a Chinese sentence when something is wrong

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.whole_file and self.ours

    def summary(self) -> str:
        if self.ok:
            return "签名有效：文件自签署后未被修改，签名证书为本平台证书。"
        return self.problem or "签名无效。"

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "signed": self.signed,
            "intact": self.intact,
            "valid": self.valid,
            "whole_file": self.whole_file,
            "ours": self.ours,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "reason": self.reason,
            "message": self.summary(),
        }


# -- keys -------------------------------------------------------------------------------------


def generate_self_signed(
    directory: Path,
    *,
    common_name: str = "公共信用信息平台报告签章（演示）",
    days: int = 3650,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write an ECDSA P-256 key and a self-signed certificate into ``directory``.

    For demos and tests only: a production deployment configures a key from a real CA."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / DEMO_KEY, directory / DEMO_CERT
    if key_path.exists() and cert_path.exists() and not overwrite:
        return key_path, cert_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "公共信用信息平台"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = clock.now().astimezone(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    # The key file is created private before anything is written into it.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    log.info("generated a self-signed report signing certificate in %s", directory)
    return key_path, cert_path


def ensure_demo_key() -> tuple[Path, Path]:
    return generate_self_signed(report_settings().effective_signing_dir)


_lock = threading.Lock()
_signer = None  # pyhanko SimpleSigner, loaded once per process
_cert_der: bytes | None = None


def reset_signer() -> None:
    """Forget the loaded key (after the settings or the key files changed)."""
    global _signer, _cert_der
    with _lock:
        _signer = None
        _cert_der = None


def _load_signer():  # type: ignore[no-untyped-def]
    from pyhanko.sign import signers

    s = report_settings()
    passphrase = s.signing_passphrase.encode() if s.signing_passphrase else None
    key_path = s.signing_key
    if key_path is not None and key_path.suffix.lower() in {".p12", ".pfx"}:
        signer = signers.SimpleSigner.load_pkcs12(str(key_path), passphrase=passphrase)
    elif key_path is not None:
        if s.signing_cert is None:
            raise SigningKeyError("XINYONG_SIGNING_KEY is a PEM key: set XINYONG_SIGNING_CERT too")
        signer = signers.SimpleSigner.load(
            str(key_path), str(s.signing_cert), key_passphrase=passphrase
        )
    else:
        demo_key, demo_cert = ensure_demo_key()
        signer = signers.SimpleSigner.load(str(demo_key), str(demo_cert))
    if signer is None:
        raise SigningKeyError("the report signing key could not be loaded (wrong passphrase?)")
    return signer


def _get_signer():  # type: ignore[no-untyped-def]
    global _signer, _cert_der
    if _signer is None:
        with _lock:
            if _signer is None:
                signer = _load_signer()
                _cert_der = signer.signing_cert.dump()
                _signer = signer
    return _signer


def certificate_fingerprint() -> str:
    """SHA-256 of the platform's signing certificate (hex), as shown on the verify page."""
    _get_signer()
    assert _cert_der is not None
    return hashlib.sha256(_cert_der).hexdigest()


def _signer_name(cert: asn1_x509.Certificate) -> str:
    try:
        return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)
    except Exception:  # pragma: no cover - odd certificates
        return cert.subject.human_friendly


# -- signing ----------------------------------------------------------------------------------


def _outside_event_loop(fn: Callable[[], T]) -> T:
    """pyHanko's synchronous API runs its own event loop (asyncio.run), which fails where a
    loop is already running in this thread (an ``async def`` route, Playwright's sync API in
    the tests): there, run it in a worker thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def sign_pdf(data: bytes, *, reason: str, location: str | None = None) -> bytes:
    """Sign ``data`` (a PDF) with the platform key: PAdES baseline B-B, SHA-256, one
    incremental update appended to the file."""
    return _outside_event_loop(lambda: _sign_pdf(data, reason=reason, location=location))


def _sign_pdf(data: bytes, *, reason: str, location: str | None) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _get_signer()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location or report_settings().signing_location,
        name="公共信用信息平台",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    pdf_signer = signers.PdfSigner(meta, signer=signer)
    # A fixed reservation skips pyHanko's dry run that measures the signature size first.
    out = pdf_signer.sign_pdf(writer, bytes_reserved=8192, in_place=False)
    return out.getvalue()


# -- verification -----------------------------------------------------------------------------


def verify_pdf(data: bytes) -> VerifyResult:
    """Check the signature(s) of ``data``; never raises for bad input, says why instead."""
    return _outside_event_loop(lambda: _verify_pdf(data))


def _verify_pdf(data: bytes) -> VerifyResult:
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        return VerifyResult(signed=False, problem="文件不是 PDF 格式。")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError) as exc:
        return VerifyResult(signed=False, problem=f"PDF 文件已损坏，无法读取签名（{exc}）。")
    if not sigs:
        return VerifyResult(signed=False, problem="文件中没有数字签名。")

    _get_signer()
    our_cert = asn1_x509.Certificate.load(_cert_der)
    # The platform's own certificate is the only trust anchor: a signature by any other key,
    # however valid, is not one of ours.
    vc = ValidationContext(trust_roots=[our_cert], allow_fetching=False)
    first = sigs[0]
    try:
        status = validate_pdf_signature(first, vc)
    except (SignatureValidationError, PdfReadError, ValueError, KeyError, TypeError) as exc:
        return VerifyResult(signed=True, problem=f"签名无法校验（{exc}）。")
    signer_cert = first.signer_cert
    ours = signer_cert is not None and signer_cert.dump() == _cert_der
    whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE and len(sigs) == 1
    intact = bool(status.intact)
    valid = bool(status.valid) and intact
    signed_at = status.signer_reported_dt
    if signed_at is not None:
        signed_at = signed_at.astimezone(clock.CST)
    reason = None
    try:
        reason = str(first.sig_object.get("/Reason")) if "/Reason" in first.sig_object else None
    except Exception:  # pragma: no cover
        reason = None

    problem = None
    if not intact:
        problem = "签名无效：签名范围内的内容已被篡改（摘要不一致）。"
    elif not valid:
        problem = "签名无效：签名值与签名证书不符。"
    elif not whole_file:
        problem = "签名本身完整，但文件在签署之后被追加修改（签名未覆盖整个文件）。"
    elif not ours:
        problem = "签名有效，但签名证书不是本平台的证书。"
    return VerifyResult(
        signed=True,
        intact=intact,
        valid=valid,
        whole_file=whole_file,
        ours=ours,
        signer=_signer_name(signer_cert) if signer_cert is not None else None,
        signed_at=signed_at,
        reason=reason,
        problem=problem,
    )
