"""The fast JSON writer prints exactly what json.dumps(indent=2, ensure_ascii=False) prints."""

from __future__ import annotations

import json
import random
from typing import Any

from composer.config_text import to_json

_CHARS = ["a", "é", '"', "\\", "\n", "\x00", "\x1f", "\x7f", "\u2028", "😀", "/", "<", " "]


def _tree(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return {"".join(rng.choices(_CHARS, k=rng.randint(0, 4))): _tree(rng, depth + 1) for _ in range(4)}
    if depth < 4 and roll < 0.45:
        return [_tree(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -5,
            2**70,
            1.5,
            1e16,
            -0.0,
            1e-7,
            float("nan"),
            float("inf"),
            "x",
            "".join(rng.choices(_CHARS, k=5)),
            (1, 2),
            {1: 2},
            {True: 1},
            {"k": (3,)},
        ]
    )


def test_same_text_as_json_dumps() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        value = _tree(rng)
        assert to_json(value) == json.dumps(value, indent=2, ensure_ascii=False)
