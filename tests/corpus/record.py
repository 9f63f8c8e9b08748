"""Record expected.json for every corpus case from the reference docker-compose.

Usage: python -m tests.corpus.record [CASE...]
Checks that each case's declared expectation (ok/invalid) matches what the reference did.
"""

from __future__ import annotations

import sys

from tests.corpus.corpus import all_cases, record, reference_binary


def main(argv: list[str]) -> int:
    binary = reference_binary()
    if binary is None:
        print("docker-compose (the reference) is not on PATH", file=sys.stderr)
        return 1
    wanted = set(argv)
    mismatches = 0
    for case in all_cases():
        if wanted and case.name not in wanted:
            continue
        result = record(case, binary)
        flag = "" if result["status"] == case.expect else "   <-- case.yaml expects " + case.expect
        mismatches += bool(flag)
        print(f"{case.name:40} {result['status']:8} {result['stderr'][:120]}{flag}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
