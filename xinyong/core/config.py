"""Settings from environment variables (prefix ``XINYONG_``) and an optional ``.env`` file.

One object, read once; tests build their own ``Settings`` rather than mutating globals.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", env_file=".env", extra="ignore")

    # SQLite is the embedded default so the platform runs with no server.
    database_url: str = Field(default="", description="SQLAlchemy URL; empty → SQLite in data_dir")
    data_dir: Path = Field(default=Path("var"), description="uploads, reports, the SQLite file")
    secret_key: str = Field(
        default="dev-only-change-me",
        description="keys the hash of personal ID numbers and signs tokens; set it in production",
    )
    # A fixed "today" (YYYY-MM-DD) for demos and tests; empty means the real date in Asia/Shanghai.
    today: dt.date | None = None
    realdata_dir: Path = Field(default=Path("../shared/realdata"))
    # Operator token for the admin pages and API until accounts exist; empty → generated once
    # into data_dir/admin-token.
    admin_token: str = ""
    # Local publicity overrides to apply (e.g. "shenzhen"); see catalog/data/publicity.
    local_rules: str = ""
    # Credit codes (信用码, reports/codes.py): the evaluation model whose colour a code shows;
    # the key ids codes are signed with (the first signs new codes, the others still verify:
    # drop an id to refuse every code signed with it); the public address the QR codes point
    # to (empty → the address of the request, or http://host:port from the command line).
    credit_code_model: str = "huixin_code"
    credit_code_keys: str = "k1"
    credit_code_base_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Move everything alive once the web app has started (modules, routes, the catalog, compiled
    # statements) out of the cyclic garbage collector's reach (gc.freeze). Every request makes
    # thousands of small containers, so collections are frequent, and an old-generation one
    # walked all of that startup heap: measured on PostgreSQL at 1M subjects, the public
    # profile's p99 fell from 84 to 15 ms and one worker's throughput rose from 1,630 to
    # 1,920 req/s. Off in the test suite, where one process starts hundreds of apps.
    gc_freeze: bool = True

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xinyong.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
