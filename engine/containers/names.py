"""Random container names in Docker's adjective_surname style (our own word lists)."""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "agile", "bold", "brave", "bright", "calm", "clever", "cool", "crisp", "daring", "eager", "fair", "fast",
    "gentle", "happy", "hardy", "keen", "kind", "lively", "lucid", "merry", "modest", "noble", "patient",
    "plucky", "proud", "quick", "quiet", "rapid", "ready", "serene", "sharp", "shiny", "silent", "steady",
    "sunny", "swift", "tidy", "upbeat", "vivid", "warm", "wise", "witty", "zen",
)
SURNAMES = (
    "babbage", "bardeen", "bell", "booth", "boyd", "cannon", "carson", "curie", "darwin", "dijkstra",
    "einstein", "euler", "faraday", "fermi", "franklin", "galileo", "gauss", "goodall", "hamilton", "hopper",
    "hypatia", "kepler", "knuth", "lamarr", "lovelace", "maxwell", "meitner", "mendel", "newton", "noether",
    "pascal", "pasteur", "ritchie", "sagan", "shannon", "tesla", "thompson", "turing", "volta", "wozniak",
)


def random_name() -> str:
    return f"{secrets.choice(ADJECTIVES)}_{secrets.choice(SURNAMES)}"
