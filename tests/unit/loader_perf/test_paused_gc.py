"""The CLI pauses the cyclic collector around loading and rendering, and always puts it back."""

from __future__ import annotations

import gc

import pytest

from composer.session import paused_gc


def test_collector_paused_then_restored_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested: the inner one must not switch it back on early
            pass
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
