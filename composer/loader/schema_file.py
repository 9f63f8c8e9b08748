"""Where the Compose JSON Schema lives, and the compiled fast check that goes with it.

The schema's home is schemas/compose-spec.json in the repository. An installed (non-editable) package
carries a copy at composer/loader/schemas/ (setup.py's build step puts it there), which wins when present.

The fast check (schema_compile) is shipped pre-generated as composer/loader/_schema_check.py; it is used
only when the digest it was generated from matches the schema file, otherwise it is compiled in memory
(correct, ~20 ms slower). Regenerate after editing the schema: `python -m composer.loader.schema_file`.
"""

from __future__ import annotations

import functools
import logging
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
_PACKAGED = _HERE / "schemas" / "compose-spec.json"
_REPOSITORY = _HERE.parents[1] / "schemas" / "compose-spec.json"
SCHEMA_PATH = _PACKAGED if _PACKAGED.is_file() else _REPOSITORY
GENERATED_PATH = _HERE / "_schema_check.py"


def schema_digest(text: bytes) -> str:
    """The key the generated check is stored under: length and CRC-32 of the schema's bytes (enough to
    notice an edit; zlib is loaded at start-up anyway, hashlib would add milliseconds)."""
    return f"{len(text)}-{zlib.crc32(text):08x}"


@functools.cache
def fast_check() -> Callable[[Any], bool] | None:
    text = SCHEMA_PATH.read_bytes()
    digest = schema_digest(text)
    try:
        from composer.loader import _schema_check

        if digest == _schema_check.SCHEMA_KEY:
            return _schema_check.check
    except ImportError:
        pass
    log.debug("pre-generated schema check is stale; compiling path=%s", SCHEMA_PATH)
    from composer.loader.schema_compile import compile_check

    return compile_check(text, digest)


def write_generated() -> None:
    """Regenerate composer/loader/_schema_check.py from the schema."""
    import json

    from composer.loader.schema_compile import generate

    text = SCHEMA_PATH.read_bytes()
    GENERATED_PATH.write_text(generate(json.loads(text), schema_digest(text)), encoding="utf-8")


if __name__ == "__main__":
    write_generated()
    sys.stdout.write(f"wrote {GENERATED_PATH}\n")
