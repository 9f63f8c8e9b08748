"""`typing.TYPE_CHECKING` without importing `typing`.

`typing` is ~3 ms of a ~30 ms `composer ls`, and most of composer's modules name its types only in
annotations (text, under `from __future__ import annotations`). Modules on the everyday commands' paths
import what they annotate with under `if TYPE_CHECKING:` from here; type checkers take any name
`TYPE_CHECKING` as true.
"""

TYPE_CHECKING = False
