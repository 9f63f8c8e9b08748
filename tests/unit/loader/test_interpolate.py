from __future__ import annotations

import pytest

from composer.errors import ConfigError
from composer.loader.interpolate import interpolate, substitute
from composer.loader.yamlsrc import parse_documents

ENV = {"A": "a", "E": ""}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$A ${A}", "a a"),
        ("${B:-x} ${E:-e} ${E-e} ${B-b}", "x e  b"),
        ("${A:+p} ${E:+q} ${E+r} ${B+s}", "p  r "),
        ("${B:-${C:-${A}}}z", "az"),
        ("${B:-{x}}z", "{x}z"),
        ("$$A $${A} $", "$A ${A} $"),
        ("${A}-${B:-x}", "a-x"),
        ("$1 a$", "$1 a$"),
        ("pre${A}post", "preapost"),
    ],
)
def test_substitution_forms(template: str, expected: str) -> None:
    assert substitute(template, ENV) == expected


@pytest.mark.parametrize("template", ["${A", "${}", "${A B}", "${-x}"])
def test_invalid_templates(template: str) -> None:
    with pytest.raises(Exception, match="invalid interpolation format"):
        substitute(template, ENV)


def test_required_errors_carry_location_and_path() -> None:
    doc = parse_documents("services:\n  web:\n    image: ${FOO:?need foo}\n", "c.yaml")[0]
    with pytest.raises(ConfigError) as err:
        interpolate(doc.data, {}, doc.marks)
    assert (
        str(err.value) == "c.yaml:3:5: services.web.image: required variable FOO is missing a value: need foo"
    )
    doc = parse_documents("x: ${E?}\ny: ${E:?}\n", "c.yaml")[0]
    with pytest.raises(ConfigError, match="required variable E is missing a value$"):
        interpolate(doc.data, ENV, doc.marks)


def test_keys_are_not_interpolated_and_unset_variables_warn() -> None:
    warnings: list[str] = []
    out = interpolate({"labels": {"${A}": "${NOPE}"}}, ENV, {}, warnings)
    assert out == {"labels": {"${A}": ""}}
    assert warnings == ['The "NOPE" variable is not set. Defaulting to a blank string.']


def test_type_casts_after_interpolation() -> None:
    data = {
        "services": {
            "web": {"privileged": "${T}", "scale": "${N}", "cpus": "0.5", "ports": [{"target": "80"}]}
        },
        "networks": {"n": {"external": "yes"}},
    }
    warnings: list[str] = []
    out = interpolate(data, {"T": "true", "N": "3"}, {}, warnings)
    web = out["services"]["web"]
    assert web == {"privileged": True, "scale": 3, "cpus": 0.5, "ports": [{"target": 80}]}
    assert out["networks"]["n"]["external"] is True
    assert any("YAML 1.2" in w for w in warnings)
    with pytest.raises(ConfigError, match="failed to cast to expected type: invalid boolean: maybe"):
        interpolate({"services": {"w": {"tty": "maybe"}}}, {}, {})
