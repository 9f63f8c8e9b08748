"""Hints for config errors: a "did you mean" for a misspelt key or name."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean 'x'?" hint when a close spelling exists."""
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f"did you mean '{close[0]}'?" if close else None
