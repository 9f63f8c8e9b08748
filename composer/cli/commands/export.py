"""Export a service container's filesystem as a tar archive.

Usage:
  export [options] SERVICE

Options:
  -o, --output FILE   Write to a file, instead of STDOUT
  --index INDEX       Index of the container if the service has multiple replicas
"""

from __future__ import annotations

import os
import sys
import tempfile

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.commands._common import event_line, parse_index
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    output = args["--output"]
    if not output and sys.stdout.isatty():
        raise ComposerError("output is a tty, refusing to write to it: use -o or redirect the output")
    service = args["SERVICE"]
    t = open_session(options, streaming=True)
    container = t.container(service, parse_index(args["--index"]), check=False)
    name = container.name
    event_line(name, f"export {name} to {output or ''}", "Exporting")
    with engine_errors():
        chunks = t.api.export(container.id)
        if output:
            _write_atomically(output, chunks)
        else:
            sys.stdout.flush()
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    return 0


def _write_atomically(path: str, chunks: object) -> None:
    """The archive appears under its name only once complete (a failed export leaves no half file)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".export-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:  # type: ignore[attr-defined]
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
