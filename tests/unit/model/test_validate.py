"""Schema errors (located, with hints) and consistency errors, checked against the reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ConfigError

from .conftest import Reference, load


def schema_error(project_dir: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(project_dir, text)
    return info.value


def test_misspelt_service_key_is_located_with_a_hint(project_dir: Path) -> None:
    err = schema_error(project_dir, "services:\n  web:\n    image: busybox\n    environmen:\n      A: 1\n")
    assert err.location is not None
    assert (err.location.file, err.location.line, err.location.column) == (
        str(project_dir / "compose.yaml"),
        4,
        5,
    )
    assert err.key_path == "services.web.environmen"
    assert "additional properties 'environmen' not allowed" in err.message
    assert err.hint == "did you mean 'environment'?"


def test_misspelt_top_level_key(project_dir: Path) -> None:
    err = schema_error(project_dir, "servics:\n  web:\n    image: busybox\n")
    assert err.location is not None and (err.location.line, err.location.column) == (1, 1)
    assert err.hint == "did you mean 'services'?"


def test_wrong_type_names_the_list_index(project_dir: Path) -> None:
    text = "services:\n  web:\n    image: busybox\n    ports:\n      - 80\n      - [1, 2]\n"
    err = schema_error(project_dir, text)
    assert err.key_path == "services.web.ports[1]"
    assert err.location is not None and err.location.line == 6
    assert str(err).startswith(f"{project_dir / 'compose.yaml'}:6:")


def test_wrong_scalar_type(project_dir: Path) -> None:
    err = schema_error(project_dir, "services:\n  web:\n    image: [busybox]\n")
    assert err.key_path == "services.web.image"
    assert err.detail == "must be a string"


def test_nested_misspelling_in_long_syntax(project_dir: Path) -> None:
    text = "services:\n  web:\n    image: busybox\n    healthcheck:\n      intervall: 5s\n"
    err = schema_error(project_dir, text)
    assert err.key_path == "services.web.healthcheck.intervall"
    assert err.hint == "did you mean 'interval'?"
    assert err.location is not None and err.location.line == 5


def test_enum_violation(project_dir: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    depends_on:\n"
        "      b:\n        condition: started\n  b:\n    image: x\n"
    )
    err = schema_error(project_dir, text)
    assert err.key_path == "services.a.depends_on.b.condition"
    assert "service_healthy" in err.detail


def test_valid_file_passes(project_dir: Path) -> None:
    load(project_dir, "services:\n  web:\n    image: busybox\n    x-anything: {a: 1}\nx-top: 1\n")


# Consistency: (compose file, substring both we and the reference print, key path we report)
INCONSISTENT = {
    "undefined_network": (
        "services:\n  a:\n    image: x\n    networks: [foo]\n",
        'service "a" refers to undefined network foo',
        "services.a.networks.foo",
    ),
    "undefined_volume": (
        "services:\n  a:\n    image: x\n    volumes: [data:/x]\n",
        'service "a" refers to undefined volume data',
        "services.a.volumes[0]",
    ),
    "undefined_secret": (
        "services:\n  a:\n    image: x\n    secrets: [s]\n",
        'service "a" refers to undefined secret s',
        "services.a.secrets[0]",
    ),
    "undefined_config": (
        "services:\n  a:\n    image: x\n    configs: [c]\n",
        'service "a" refers to undefined config c',
        "services.a.configs[0]",
    ),
    "unknown_dependency": (
        "services:\n  a:\n    image: x\n    depends_on: [b]\n",
        'service "a" depends on undefined service "b"',
        "services.a.depends_on.b",
    ),
    "cycle": (
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
        "dependency cycle detected: a -> b -> a",
        None,
    ),
    "network_mode_and_networks": (
        "services:\n  a:\n    image: x\n    network_mode: host\n    networks: [default]\n",
        "service a declares mutually exclusive `network_mode` and `networks`",
        "services.a.network_mode",
    ),
    "container_name_and_scale": (
        "services:\n  a:\n    image: x\n    container_name: cc\n    scale: 2\n",
        "as container name must be unique",
        "services.a.container_name",
    ),
    "no_image_nor_build": (
        "services:\n  a:\n    restart: always\n",
        'service "a" has neither an image nor a build context specified',
        "services.a",
    ),
    "mem_limit_conflict": (
        "services:\n  a:\n    image: x\n    mem_limit: 1g\n    deploy:\n      resources:\n        limits:\n"
        "          memory: 2g\n",
        "can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'",
        "services.a.mem_limit",
    ),
    "scale_and_replicas": (
        "services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n",
        "can't set distinct values on 'scale' and 'deploy.replicas'",
        "services.a.scale",
    ),
    "duplicate_mount_target": (
        "services:\n  a:\n    image: x\n    tmpfs: /data\n    volumes: [./d:/data]\n",
        "services.a.volumes[0]: target /data already mounted as services.a.tmpfs[0]",
        "services.a.volumes[0]",
    ),
    "network_mode_unknown_service": (
        "services:\n  a:\n    image: x\n    network_mode: service:zz\n",
        'depends on undefined service "zz"',
        "services.a.depends_on.zz",
    ),
    "secret_without_source": (
        "services:\n  a:\n    image: x\n    secrets: [s]\nsecrets:\n  s:\n    name: foo\n",
        "one of file|environment must be set",
        "secrets.s",
    ),
    "healthcheck_test_verb": (
        "services:\n  a:\n    image: x\n    healthcheck:\n      test: [RUN, x]\n",
        'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"',
        "services.a.healthcheck.test",
    ),
}


@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_consistency_errors(case: str, project_dir: Path) -> None:
    text, message, key_path = INCONSISTENT[case]
    err = schema_error(project_dir, text)
    assert message in err.message
    if key_path is not None:
        assert err.key_path == key_path
        assert err.location is not None and err.location.file.endswith("compose.yaml")
    assert err.exit_code != 0


@pytest.mark.reference
@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_reference_agrees_on_consistency_errors(case: str, project_dir: Path, reference: Reference) -> None:
    text, message, _ = INCONSISTENT[case]
    (project_dir / "compose.yaml").write_text(text)
    done = reference.run(project_dir, "config", "-q")
    assert done.returncode == 1
    assert message in done.stderr


@pytest.mark.reference
@pytest.mark.parametrize(
    ("text", "reference_says"),
    [
        (
            "services:\n  a:\n    image: x\n    environmen: {}\n",
            "additional properties 'environmen' not allowed",
        ),
        ("services:\n  a:\n    image: [x]\n", "services.a.image must be a string"),
        (
            "services:\n  a:\n    build:\n      context: .\n      foo: 1\n",
            "additional properties 'foo' not allowed",
        ),
    ],
)
def test_reference_agrees_on_schema_errors(
    text: str, reference_says: str, project_dir: Path, reference: Reference
) -> None:
    err = schema_error(project_dir, text)
    done = reference.run(project_dir, "config", "-q")
    assert done.returncode == 1 and reference_says in done.stderr
    assert reference_says.split(" ", 1)[-1] in str(err)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "services:\n  web:\n    image: x\n    networks:\n      - front\n      - nowhere\n"
            "networks:\n  front: {}\n",
            6,
        ),
        ("services:\n  web:\n    image: x\n    depends_on:\n      - ghost\n", 5),
        ("services:\n  web:\n    image: x\n    network_mode: service:ghost\n", 4),
        ("services:\n  web:\n    image: x\n    volumes_from:\n      - ghost:ro\n", 5),
        ("services:\n  web:\n    image: x\n    links:\n      - ghost:g\n", 5),
    ],
)
def test_references_are_located_at_the_users_entry(project_dir: Path, text: str, line: int) -> None:
    err = schema_error(project_dir, text)
    assert err.location is not None and err.location.line == line, str(err)


def test_undefined_references_suggest_a_close_name(project_dir: Path) -> None:
    text = "services:\n  web:\n    image: x\n    depends_on: [databse]\n  database:\n    image: x\n"
    assert schema_error(project_dir, text).hint == "did you mean 'database'?"
    text = "services:\n  web:\n    image: x\n    volumes: [dta:/d]\nvolumes:\n  data: {}\n"
    assert schema_error(project_dir, text).hint == "did you mean 'data'?"


def test_optional_dependency_on_a_disabled_service_is_allowed() -> None:
    from composer.errors import Location
    from composer.loader.normalize import NormalizeContext, normalize
    from composer.loader.validate import check_consistency

    dep = {"gone": {"condition": "service_started", "required": False}}
    data = {"services": {"a": {"image": "x", "depends_on": dep}}}
    declared = {("services", "gone"): Location("compose.yaml", 9, 3)}  # a profile disabled it
    check_consistency(normalize(data, NormalizeContext("p", "/p")), declared)
    with pytest.raises(ConfigError, match='depends on undefined service "gone"'):
        check_consistency(normalize(data, NormalizeContext("p", "/p")), {})
