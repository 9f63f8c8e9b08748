from __future__ import annotations

import pytest

from engine.errors import InvalidParameter
from engine.images.changes import apply_changes


def test_each_instruction() -> None:
    out = apply_changes({"Env": ["PATH=/bin"]}, [
        'CMD ["/bin/sh", "-c", "echo hi"]',
        "ENV A=1 B=\"two words\"",
        "ENV PATH /usr/bin:/bin",
        "WORKDIR /app",
        "WORKDIR sub",
        "EXPOSE 80 53/udp",
        "LABEL org.example=yes other=\"x y\"",
        "USER app:app",
        'VOLUME ["/data"]',
        "VOLUME /cache /logs",
        "STOPSIGNAL SIGINT",
        "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1",
    ])
    assert out["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert out["Env"] == ["A=1", "B=two words", "PATH=/usr/bin:/bin"]
    assert out["WorkingDir"] == "/app/sub"
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert out["Labels"] == {"org.example": "yes", "other": "x y"}
    assert out["User"] == "app:app"
    assert out["Volumes"] == {"/data": {}, "/cache": {}, "/logs": {}}
    assert out["StopSignal"] == "SIGINT"
    assert out["Healthcheck"] == {"Interval": 5_000_000_000, "Retries": 3,
                                  "Test": ["CMD-SHELL", "wget -q localhost || exit 1"]}


def test_shell_form_and_entrypoint() -> None:
    out = apply_changes({"Cmd": ["old"]}, ["ENTRYPOINT top -b"])
    assert out["Entrypoint"] == ["/bin/sh", "-c", "top -b"]
    assert out["Cmd"] is None
    assert apply_changes({}, ["cmd echo hi"])["Cmd"] == ["/bin/sh", "-c", "echo hi"]


@pytest.mark.parametrize(("line", "message"), [
    ("RUN echo", "RUN is not a valid change command"),
    ("FROM busybox", "FROM is not a valid change command"),
    ("ENV", "ENV requires at least one argument"),
    ("EXPOSE abc", "invalid containerPort: abc"),
])
def test_invalid_changes(line: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        apply_changes({}, [line])
    assert info.value.message == message
