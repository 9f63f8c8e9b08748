"""`docker images` through the engine hides a build's nameless intermediate images unless `-a`, as dockerd."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import DockerCLI, client_env
from tests.support.engine import running_engine


def test_intermediate_build_images_only_with_all(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nENV A=1\nENV B=2\nLABEL step=three\n")
    with running_engine() as eng:
        docker = DockerCLI(client_env(eng.socket_path, tmp_path / "cfg"))
        base = docker("images", "-q", "--no-trunc").out.split()
        built = docker("build", "-q", "-t", "r2/list:1", str(ctx)).out.strip()
        listed = docker("images", "-q", "--no-trunc").out.split()
        every = docker("images", "-a", "-q", "--no-trunc").out.split()
        assert sorted(listed) == sorted([*base, built])  # the steps' images are not listed
        steps = [i for i in every if i not in listed]
        assert len(steps) >= 2  # ENV A and ENV B made nameless images the final one builds on
        for step in steps:
            assert docker("image", "inspect", "-f", "{{.RepoTags}}", step).out.strip() == "[]"
        # An untagged image with no children is dangling and still listed, as `<none>`.
        docker("tag", built, "r2/list:2")
        docker("rmi", "r2/list:1", "r2/list:2")
        assert built not in docker("images", "-a", "-q", "--no-trunc").out.split()
        again = docker("build", "-q", str(ctx)).out.strip()  # no tag: nameless, and nothing builds on it
        assert docker("images", "--filter", "dangling=true", "-q", "--no-trunc").out.split() == [again]
        assert again in docker("images", "-q", "--no-trunc").out.split()
