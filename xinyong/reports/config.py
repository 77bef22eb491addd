"""Settings of the report domain (prefix ``XINYONG_``), kept out of core/config.py.

The signing key is an administrator's business: a PKCS#12 file (``XINYONG_SIGNING_KEY`` ending
in .p12/.pfx, with ``XINYONG_SIGNING_PASSPHRASE``) or a PEM key plus a PEM certificate
(``XINYONG_SIGNING_KEY`` + ``XINYONG_SIGNING_CERT``). Without one, a self-signed demo key is
generated once into ``data_dir/signing`` — never into the repository.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from xinyong.core.config import get_settings


class ReportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", env_file=".env", extra="ignore")

    signing_key: Path | None = Field(default=None, description="PEM private key or PKCS#12 file")
    signing_cert: Path | None = Field(default=None, description="PEM certificate (with a PEM key)")
    signing_passphrase: str = ""
    # Where the demo key lives when no key is configured; empty → data_dir/signing.
    signing_dir: Path | None = None
    # Absolute base of the links printed in reports (the QR code to /verify/{serial}).
    public_url: str = "http://127.0.0.1:8000"
    # Largest PDF accepted for verification by upload.
    verify_upload_limit: int = 20 * 1024 * 1024
    # Signing location written into the signature dictionary.
    signing_location: str = "公共信用信息平台"

    @property
    def effective_signing_dir(self) -> Path:
        return self.signing_dir or (get_settings().data_dir / "signing")


_override: ReportSettings | None = None


@lru_cache(maxsize=1)
def _from_env() -> ReportSettings:
    return ReportSettings()


def report_settings() -> ReportSettings:
    return _override if _override is not None else _from_env()


def use_settings(settings: ReportSettings | None) -> None:
    """Install settings for this process (tests, the benchmark); ``None`` goes back to env."""
    global _override
    _override = settings
    from xinyong.reports import signing

    signing.reset_signer()
