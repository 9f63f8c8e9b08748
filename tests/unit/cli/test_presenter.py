"""The YAML emitter: every value reads back unchanged, in the reference's layout."""

from __future__ import annotations

import random
import string

import pytest
import yaml

from composer.config_text import to_yaml

TRICKY = [
    "",
    " lead",
    "trail ",
    "yes",
    "No",
    "on",
    "~",
    "null",
    "12",
    "0o17",
    "0x1f",
    "1e3",
    ".5",
    "1:30",
    "2024-01-02",
    "-",
    "- item",
    "-x",
    ":x",
    "a: b",
    "a #b",
    "#c",
    "*alias",
    "&anchor",
    "!tag",
    "|",
    ">",
    "%",
    "@at",
    "`tick",
    "{",
    "[",
    "a]",
    "a,b",
    "?",
    "? q",
    "it's",
    'say "hi"',
    "tab\there",
    "multi\nline\n",
    "no newline\nat end",
    "\nleading newline",
    "trailing spaces  \nx",
    "héllo ✓",
    "=",
    "<<",
    "1_000",
]


@pytest.mark.parametrize("text", TRICKY)
def test_strings_round_trip(text: str) -> None:
    doc = {"k": text, "list": [text], "nested": {text or "empty": [text, {"x": text}]}}
    assert yaml.safe_load(to_yaml(doc)) == doc


def test_random_printable_strings_round_trip() -> None:
    rng = random.Random(7)
    alphabet = string.printable + "éλ✓"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert yaml.safe_load(to_yaml({"v": text})) == {"v": text}, repr(text)


def test_layout_matches_the_reference_style() -> None:
    doc = {
        "name": "p",
        "services": {
            "web": {
                "command": ["sh", "-c", "echo hi"],
                "ports": [{"target": 80, "published": "8080"}],
                "environment": {"N": "2", "EMPTY": ""},
                "networks": {"default": None},
            }
        },
        "volumes": {"data": {}},
    }
    assert to_yaml(doc) == (
        "name: p\n"
        "services:\n"
        "  web:\n"
        "    command:\n"
        "      - sh\n"
        "      - -c\n"
        "      - echo hi\n"
        "    ports:\n"
        "      - target: 80\n"
        '        published: "8080"\n'
        "    environment:\n"
        '      "N": "2"\n'
        '      EMPTY: ""\n'
        "    networks:\n"
        "      default: null\n"
        "volumes:\n"
        "  data: {}\n"
    )
