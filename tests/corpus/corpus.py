"""The differential corpus: case metadata, the reference runner and output normalization.

Each directory under cases/ is one small project with a case.yaml:
  description: one line
  args: [global options]                 (default: none)
  command: [config, ...]                 (default: config --format json)
  env: {NAME: value}                     (added to a clean base environment)
  cwd: sub/dir                           (default: the case directory)
  expect: ok | invalid
  error: regex our stderr must match     (invalid only)
  location: "file:line" our stderr must contain, when we can locate the error
  warnings: [regex, ...] warning lines our stderr must show, in order, before the error (invalid only;
                         the reference prints its warnings also when loading then fails)
Outputs hold absolute paths: they are stored with the case directory replaced by <CASE>, its parent
by <CASES>.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.reference import reference_binary  # noqa: F401  (the corpus tools import it from here)

CASES_DIR = Path(__file__).resolve().parent / "cases"
DEFAULT_COMMAND = ("config", "--format", "json")
# The base environment every case runs with (both tools): nothing from the developer's shell leaks in.
BASE_ENV = {"HOME": "/home/tester", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class Case:
    name: str
    dir: Path
    description: str
    args: tuple[str, ...]
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    expect: str = "ok"
    error: str | None = None
    location: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        return [*self.args, *self.command]

    @property
    def workdir(self) -> Path:
        return self.cwd or self.dir

    @property
    def output_format(self) -> str:
        """How stdout is compared: json, yaml (as data), or text (lines)."""
        cmd = self.command
        if cmd[0] != "config":
            return "text"
        listing = {
            "--services",
            "--volumes",
            "--networks",
            "--profiles",
            "--images",
            "--hash",
            "--environment",
        }
        if listing & set(cmd):
            return "text"
        if "json" in cmd:
            return "json"
        return "yaml"

    @property
    def expected_path(self) -> Path:
        return self.dir / "expected.json"

    @property
    def expected_yaml_path(self) -> Path:
        return self.dir / "expected.yaml"

    @property
    def has_yaml_twin(self) -> bool:
        """A valid JSON case is also compared as YAML text (same argv without --format json)."""
        return self.expect == "ok" and self.output_format == "json"

    @property
    def yaml_argv(self) -> list[str]:
        command = [a for a in self.command if a not in ("--format", "json")]
        return [*self.args, *command]


def load_case(case_dir: Path) -> Case:
    meta = yaml.safe_load((case_dir / "case.yaml").read_text())
    cwd = meta.get("cwd")
    return Case(
        name=case_dir.name,
        dir=case_dir,
        description=meta["description"],
        args=tuple(meta.get("args", ())),
        command=tuple(meta.get("command", DEFAULT_COMMAND)),
        env={k: str(v) for k, v in (meta.get("env") or {}).items()},
        cwd=case_dir / cwd if cwd else None,
        expect=meta.get("expect", "ok"),
        error=meta.get("error"),
        location=meta.get("location"),
        warnings=tuple(meta.get("warnings") or ()),
    )


def all_cases() -> list[Case]:
    return [load_case(p) for p in sorted(CASES_DIR.iterdir()) if (p / "case.yaml").is_file()]


def case_environ(case: Case) -> dict[str, str]:
    env = dict(BASE_ENV)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    env.update(case.env)
    return env


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


def run_reference(case: Case, binary: str, argv: list[str] | None = None) -> Outcome:
    proc = subprocess.run(
        [binary, *(case.argv if argv is None else argv)],
        cwd=case.workdir,
        env=case_environ(case),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def _replace_paths(value: Any, case: Case) -> Any:
    if isinstance(value, str):
        return placeholders(value, case)
    if isinstance(value, list):
        return [_replace_paths(v, case) for v in value]
    if isinstance(value, dict):
        return {k: _replace_paths(v, case) for k, v in value.items()}
    return value


def comparable(case: Case, outcome: Outcome) -> dict[str, Any]:
    """The part of an outcome both tools must agree on, with machine paths replaced by placeholders."""
    data: Any
    if outcome.exit_code != 0:
        data = None
    elif case.output_format == "json":
        data = json.loads(outcome.stdout)
    elif case.output_format == "yaml":
        data = yaml.safe_load(outcome.stdout) if outcome.stdout.strip() else None
    else:
        # The reference prints listings in Go map order (random from run to run): compare them as sets.
        data = sorted(outcome.stdout.splitlines())
    _sort_ssh_keys(data)
    return {"status": "ok" if outcome.exit_code == 0 else "invalid", "output": _replace_paths(data, case)}


def _sort_ssh_keys(data: Any) -> None:
    """The reference prints build.ssh from a Go map (random order from run to run): compare it as a set."""
    services = data.get("services") if isinstance(data, dict) else None
    for service in (services or {}).values():
        build = service.get("build") if isinstance(service, dict) else None
        if isinstance(build, dict) and isinstance(build.get("ssh"), list):
            build["ssh"] = sorted(build["ssh"], key=str)


def stored(case: Case) -> dict[str, Any]:
    return json.loads(case.expected_path.read_text())


def record(case: Case, binary: str) -> dict[str, Any]:
    outcome = run_reference(case, binary)
    result = comparable(case, outcome)
    result["exit_code"] = outcome.exit_code
    result["stderr"] = _replace_paths(outcome.stderr.strip(), case)
    case.expected_path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    if case.has_yaml_twin and result["status"] == "ok":
        case.expected_yaml_path.write_text(reference_yaml(case, binary))
    return result


def placeholders(text: str, case: Case) -> str:
    return text.replace(str(case.dir), "<CASE>").replace(str(case.dir.parent), "<CASES>")


def reference_yaml(case: Case, binary: str) -> str:
    """The reference's YAML text for a valid case, with machine paths replaced."""
    outcome = run_reference(case, binary, case.yaml_argv)
    if outcome.exit_code != 0:
        raise RuntimeError(f"{case.name}: reference YAML run failed: {outcome.stderr.strip()}")
    return placeholders(outcome.stdout, case)


def differences(got: Any, want: Any, path: str = "", limit: int = 12) -> list[str]:
    """Human-readable differences between two JSON-like values (for assertion messages)."""
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in [*a, *(k for k in b if k not in a)]:
                if key not in b:
                    found.append(f"{where}.{key}: unexpected {a[key]!r:.80}")
                elif key not in a:
                    found.append(f"{where}.{key}: missing, reference has {b[key]!r:.80}")
                else:
                    walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{i}]")
        elif a != b or type(a) is not type(b):
            found.append(f"{where or '.'}: ours {a!r:.100} != reference {b!r:.100}")

    walk(got, want, path)
    return found
