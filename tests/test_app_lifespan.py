"""The web application's start and stop: its startup heap is frozen for the garbage collector
while it serves (XINYONG_GC_FREEZE) and given back when it stops."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from xinyong.core.config import get_settings


@pytest.mark.parametrize("setting", ["1", "0"])
def test_the_startup_heap_is_frozen_while_the_app_serves(
    setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xinyong.app import create_app

    monkeypatch.setenv("XINYONG_GC_FREEZE", setting)
    get_settings.cache_clear()
    try:
        assert gc.get_freeze_count() == 0
        with TestClient(create_app()) as client:
            assert client.get("/healthz").status_code == 200
            frozen = gc.get_freeze_count()
        assert (frozen > 10_000) == (setting == "1")
        assert gc.get_freeze_count() == 0
    finally:
        get_settings.cache_clear()
