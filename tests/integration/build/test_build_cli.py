"""`DOCKER_BUILDKIT=0 docker build` against our engine: multi-stage, the step cache, .dockerignore, errors;
then push to a real docker-registry, pull into a clean engine, skopeo cross-check, run the pulled image."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import DockerCLI, client_env
from tests.support.engine import EngineProcess, running_engine
from tests.support.registry import Registry

pytestmark = pytest.mark.root

DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE AS base
ARG GREETING=hello
ENV WHO="the world" \\
    OTHER=x
WORKDIR /app
COPY src/ ./src/
COPY conf.txt /etc/app/
RUN echo "$GREETING $WHO" > out.txt && cat src/a.txt
RUN <<EOT
echo heredoc $OTHER > /app/h.txt
EOT
ADD files.tar /unpacked/
COPY --chown=1000:1000 --chmod=600 conf.txt /owned
USER 1000
CMD ["cat", "/app/out.txt"]

FROM scratch AS unused
COPY missing-on-purpose /nowhere

FROM busybox AS final
COPY --from=base /app/ /copied/
LABEL stage=final
"""


def _write_context(ctx: Path) -> None:
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "src").mkdir()
    (ctx / "src" / "a.txt").write_text("source a\n")
    (ctx / "conf.txt").write_text("conf\n")
    (ctx / "secret.log").write_text("must not be sent\n")
    (ctx / ".dockerignore").write_text("*.log\n")
    inner = ctx / "inner"
    inner.mkdir()
    (inner / "t.txt").write_text("from tar\n")
    subprocess.run(["tar", "-C", str(inner), "-cf", str(ctx / "files.tar"), "t.txt"], check=True)


def test_build_run_cache_and_rebuild(docker: DockerCLI, context: Path) -> None:
    _write_context(context)
    first = docker(
        "build", "--build-arg", "GREETING=hi", "-t", "b1/app:1", "--target", "base", str(context), timeout=120
    )
    assert "Step 1/" in first.out and "Successfully tagged b1/app:1" in first.out
    assert "source a" in first.out  # RUN output streamed
    assert "missing-on-purpose" not in first.out  # the unused stage is not built
    out = docker("run", "--rm", "b1/app:1").out
    assert out == "hi the world\n"
    ls = docker(
        "run",
        "--rm",
        "--user",
        "0",
        "b1/app:1",
        "sh",
        "-c",
        "cat /app/h.txt /unpacked/t.txt /app/src/a.txt /etc/app/conf.txt; stat -c '%u:%g %a' /owned; ls /app",
    ).out
    assert ls.split("\n")[:5] == ["heredoc x", "from tar", "source a", "conf", "1000:1000 600"]
    inspect = json.loads(docker("image", "inspect", "b1/app:1").out)[0]
    assert inspect["Config"]["User"] == "1000" and inspect["Config"]["WorkingDir"] == "/app"
    assert "WHO=the world" in inspect["Config"]["Env"]

    # fully cached: every step from cache, no container made (its speed: bench/build_cached.py)
    since = f"{time.time():.9f}"
    again = docker("build", "--build-arg", "GREETING=hi", "-t", "b1/app:1", "--target", "base", str(context))
    assert again.out.count("Using cache") == 10, again.out
    assert "Running in" not in again.out
    events = docker(
        "events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "type=container"
    ).out
    assert events == ""

    # one source changed: steps before its COPY cached, from there on re-run
    (context / "conf.txt").write_text("conf 2\n")
    third = docker("build", "--build-arg", "GREETING=hi", "-t", "b1/app:2", "--target", "base", str(context))
    steps = third.out.split("Step ")
    cached = [s.split(" :")[0] for s in steps if "Using cache" in s]
    assert cached == ["3/12", "4/12", "5/12"], third.out  # ENV, WORKDIR, COPY src/; ARG has no image
    assert docker("run", "--rm", "--user", "0", "b1/app:2", "cat", "/etc/app/conf.txt").out == "conf 2\n"

    # the final stage copies from base; --no-cache re-runs everything
    final = docker("build", "--no-cache", "-t", "b1/final", str(context), timeout=120)
    assert "Using cache" not in final.out
    assert "missing-on-purpose" not in final.out
    assert docker("run", "--rm", "b1/final", "cat", "/copied/out.txt").out == "hello the world\n"


def test_build_errors(docker: DockerCLI, context: Path) -> None:
    (context / "Dockerfile").write_text("FROM busybox\nRUN echo start && exit 3\n")
    res = docker("build", str(context), check=False)
    assert res.rc != 0
    assert "The command '/bin/sh -c echo start && exit 3' returned a non-zero code: 3" in res.err
    (context / "Dockerfile").write_text("FROM busybox\n\nBOGUS x\n")
    res = docker("build", str(context), check=False)
    assert res.rc != 0 and "line 3: unknown instruction: BOGUS" in res.err
    (context / "Dockerfile").write_text("FROM busybox\nCOPY nothere /x\n")
    res = docker("build", str(context), check=False)
    assert res.rc != 0 and "nothere" in res.err
    assert docker("ps", "-aq").out == ""  # failed RUN containers are removed


def test_push_pull_skopeo_and_run(
    docker: DockerCLI, context: Path, registry: Registry, tmp_path: Path
) -> None:
    (context / "Dockerfile").write_text('FROM busybox\nRUN echo pushed > /p.txt\nCMD ["cat", "/p.txt"]\n')
    ref = f"{registry.host}/b1/pushed:v1"
    docker("build", "-t", ref, str(context), timeout=120)
    push = docker("push", ref, timeout=120)
    assert "v1: digest: sha256:" in push.out
    info = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(json.loads(info.stdout)["Layers"]) == 2
    copy = subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{tmp_path / 'd'}"],
        capture_output=True,
        text=True,
    )
    assert copy.returncode == 0, copy.stderr
    with running_engine(busybox_image=False) as clean:
        cli = DockerCLI(client_env(clean.socket_path, clean.base / "docker-config"))
        since = time.time() - 1
        pulled = cli("pull", ref, timeout=120)
        assert "Downloaded newer image" in pulled.out or "Pull complete" in pulled.out, pulled.out
        assert cli("run", "--rm", ref).out == "pushed\n"
        dist = clean.json("GET", f"/distribution/{ref}/json")
        assert dist["Descriptor"]["digest"].startswith("sha256:")
        assert dist["Platforms"][0]["os"] == "linux" and dist["Platforms"][0]["architecture"]
        raw = clean.request("GET", f"/events?since={since:.0f}&until={int(time.time()) + 1}").body.decode()
        events = [json.loads(line) for line in raw.splitlines() if line.strip()]
        assert any(e["Action"] == "pull" and e["Actor"]["ID"] == ref for e in events), events


def test_pull_and_push_errors_and_mirror(docker: DockerCLI, registry: Registry) -> None:
    res = docker("pull", f"{registry.host}/b1/none:latest", check=False)
    assert res.rc != 0 and "b1/none" in res.err
    res = docker("push", f"{registry.host}/b1/never-built:v1", check=False)
    assert res.rc != 0 and "An image does not exist locally with the tag" in res.err
    # `busybox` means docker.io/library/busybox: answered by the mirror from daemon.json/--registry-mirror
    pulled = docker("pull", "busybox", timeout=120)
    assert "docker.io/library/busybox:latest" in pulled.out


def test_proxy_build_args_reach_run_but_not_history(docker: DockerCLI, context: Path) -> None:
    (context / "Dockerfile").write_text('FROM busybox\nRUN echo "proxy=$HTTP_PROXY" > /proxy.txt\n')
    docker(
        "build",
        "--build-arg",
        "HTTP_PROXY=http://127.0.0.1:3128",
        "-t",
        "b1/proxy",
        str(context),
        timeout=120,
    )
    assert docker("run", "--rm", "b1/proxy", "cat", "/proxy.txt").out == "proxy=http://127.0.0.1:3128\n"
    history = docker("history", "--no-trunc", "b1/proxy").out
    assert "3128" not in history


def test_login_through_auth(engine: EngineProcess, registry: Registry) -> None:
    res = engine.request("POST", "/auth", {"serveraddress": registry.host, "username": "u", "password": "p"})
    assert res.status == 200 and res.json()["Status"] == "Login Succeeded"


def test_run_mounts_and_network(docker: DockerCLI, context: Path) -> None:
    (context / "data.txt").write_text("bound\n")
    (context / "Dockerfile").write_text(
        "FROM busybox\n"
        "ARG N=1\n"
        "RUN --mount=type=cache,target=/cache sh -c 'echo $N >> /cache/runs; wc -l < /cache/runs > /count'\n"
        "RUN --mount=type=bind,source=data.txt,target=/in.txt cp /in.txt /copied.txt\n"
        "RUN --mount=type=tmpfs,target=/scratch sh -c 'echo t > /scratch/x && grep -q tmpfs /proc/mounts'\n"
        "RUN --network=none sh -c 'test \"$(ls /sys/class/net)\" = lo'\n"
    )
    docker("build", "--build-arg", "N=1", "-t", "b1/mounts:1", str(context), timeout=120)
    docker("build", "--build-arg", "N=2", "-t", "b1/mounts:2", str(context), timeout=120)
    # the cache mount outlived the first build: the second run saw both lines
    assert docker("run", "--rm", "b1/mounts:2", "cat", "/count").out.strip() == "2"
    assert docker(
        "run", "--rm", "b1/mounts:2", "sh", "-c", "cat /copied.txt; ls /cache /scratch 2>&1"
    ).out.startswith("bound\n")
    # changing the bound file re-runs its RUN (the bind source is part of the cache key)
    (context / "data.txt").write_text("bound 2\n")
    res = docker("build", "--build-arg", "N=2", "-t", "b1/mounts:3", str(context), timeout=120)
    assert res.out.count("Using cache") == 1, res.out  # only the cache-mount RUN before it is a hit
    assert docker("run", "--rm", "b1/mounts:3", "cat", "/copied.txt").out == "bound 2\n"
    (context / "Dockerfile").write_text("FROM busybox\nRUN --mount=type=secret,id=x true\n")
    res = docker("build", str(context), check=False)
    assert res.rc != 0 and "needs BuildKit" in res.err


def test_cache_from_a_pulled_image(docker: DockerCLI, context: Path, registry: Registry) -> None:
    (context / "a.txt").write_text("a\n")
    (context / "Dockerfile").write_text(
        "FROM busybox\nENV X=1\nCOPY a.txt /a.txt\nRUN echo ran > /ran.txt\nWORKDIR /w\n"
        'CMD ["cat", "/ran.txt"]\n'
    )
    ref = f"{registry.host}/b1/cachefrom:v1"
    docker("build", "-t", ref, str(context), timeout=120)
    docker("push", ref, timeout=120)
    with running_engine(
        busybox_image=False, extra_args=(f"--registry-mirror=http://{registry.host}",)
    ) as clean:
        cli = DockerCLI(client_env(clean.socket_path, clean.base / "docker-config"))
        cli("pull", ref, timeout=120)
        res = cli("build", "--cache-from", ref, "-t", "b1/fromcache", str(context), timeout=120)
        assert "Running in" not in res.out, res.out
        assert res.out.count("Using cache") == 5, res.out
        assert cli("run", "--rm", "b1/fromcache").out == "ran\n"
        original = json.loads(cli("image", "inspect", ref).out)[0]["RootFS"]["Layers"]
        rebuilt = json.loads(cli("image", "inspect", "b1/fromcache").out)[0]["RootFS"]["Layers"]
        assert rebuilt == original


def test_onbuild_args_pull_and_dockerfile_forms(docker: DockerCLI, context: Path, tmp_path: Path) -> None:
    (context / "Dockerfile").write_text(
        "FROM busybox\nONBUILD COPY trigger.txt /trigger.txt\nONBUILD RUN echo triggered >> /trigger.txt\n"
        'SHELL ["/bin/sh", "-ec"]\nHEALTHCHECK --interval=3s CMD true\nSTOPSIGNAL SIGUSR1\nVOLUME /vol\n'
    )
    docker("build", "--pull", "-t", "b1/onbuild-base", str(context), timeout=120)
    base = json.loads(docker("image", "inspect", "b1/onbuild-base").out)[0]["Config"]
    assert base["OnBuild"] == ["COPY trigger.txt /trigger.txt", "RUN echo triggered >> /trigger.txt"]
    assert base["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 3_000_000_000}
    assert base["StopSignal"] == "SIGUSR1" and base["Volumes"] == {"/vol": {}}
    assert base["Shell"] == ["/bin/sh", "-ec"]

    child = tmp_path / "child"
    child.mkdir()
    (child / "trigger.txt").write_text("copied\n")
    outside = tmp_path / "Dockerfile.outside"  # -f outside the context: the CLI sends it along
    outside.write_text(
        "ARG TAG=onbuild-base\nFROM b1/$TAG\nARG TAG\nARG LATE=late-default\n"
        'RUN echo "$TAG $LATE" > /args.txt\n'
    )
    docker(
        "build",
        "-f",
        str(outside),
        "--build-arg",
        "LATE=given",
        "-t",
        "b1/onbuild-child",
        str(child),
        timeout=120,
    )
    out = docker("run", "--rm", "b1/onbuild-child", "cat", "/trigger.txt", "/args.txt").out
    assert out == "copied\ntriggered\nonbuild-base given\n"
    assert json.loads(docker("image", "inspect", "b1/onbuild-child").out)[0]["Config"]["OnBuild"] in (
        None,
        [],
    )

    # a Dockerfile alone on stdin (no context)
    res = docker("build", "-t", "b1/stdin", "-", input='FROM busybox\nCMD ["echo", "from stdin"]\n')
    assert "Successfully tagged b1/stdin:latest" in res.out
    assert docker("run", "--rm", "b1/stdin").out == "from stdin\n"


def test_copy_heredoc_and_buildkit_only_flags(docker: DockerCLI, context: Path) -> None:
    (context / "Dockerfile").write_text(
        "FROM busybox\nARG WHO=you\nCOPY <<EOF /greeting.txt\nhello $WHO\nEOF\n"
        "COPY --chmod=755 <<'EOT' /run.sh\n#!/bin/sh\necho $WHO\nEOT\n"
    )
    docker("build", "-t", "b1/heredoc", str(context), timeout=120)
    out = docker("run", "--rm", "b1/heredoc", "sh", "-c", "cat /greeting.txt /run.sh; stat -c %a /run.sh").out
    assert out == "hello you\n#!/bin/sh\necho $WHO\n755\n"
    (context / "Dockerfile").write_text("FROM busybox\nCOPY --exclude=*.md . /app\n")
    res = docker("build", str(context), check=False)
    assert res.rc != 0 and "line 2: COPY --exclude needs BuildKit" in res.err


def test_daemon_start_drops_leftovers_of_a_crashed_build() -> None:
    with running_engine(busybox_image=False) as eng:
        rw = eng.data_root / "images" / "rw" / "build-0123456789abcdef"
        for sub in ("upper", "work", "merged", "empty"):
            (rw / sub).mkdir(parents=True)
        (rw / "meta.json").write_text('{"image": "", "diff_ids": []}')
        ctx = eng.data_root / "build" / "contexts" / "ctx-left"
        ctx.mkdir(parents=True)
        eng.kill9()
        eng.start()
        assert not rw.exists() and not ctx.exists()
