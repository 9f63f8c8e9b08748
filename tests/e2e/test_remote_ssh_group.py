"""The socket's group and ssh://.

-G/--group gives the unix socket to a group: a user the test creates in that group reaches the engine
without root, a user outside it does not; without -G the socket goes to `composer` when that group exists.
DOCKER_HOST=ssh://user@host drives the engine through the `ssh` binary, as Docker Compose does: an sshd on
127.0.0.1 with a throwaway host key and user key, whose sessions run `docker system dial-stdio` against our
engine's socket as a user of its group; `composer system dial-stdio` relays the same way. Users, group and
sshd are removed afterwards.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import DOCKER
from tests.support.engine import EngineProcess, running_engine

pytestmark = [pytest.mark.root, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Account:
    user: str
    uid: int
    gid: int


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@contextlib.contextmanager
def _group(name: str) -> Iterator[int]:
    _run("groupadd", name)
    try:
        yield grp.getgrnam(name).gr_gid
    finally:
        subprocess.run(["groupdel", name], capture_output=True)


@contextlib.contextmanager
def _user(name: str, groups: tuple[str, ...] = ()) -> Iterator[Account]:
    extra = ["-G", ",".join(groups)] if groups else []
    _run("useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", *extra, name)
    try:
        _run("usermod", "-p", "*", name)  # no password, but not locked: sshd takes its key
        pw = pwd.getpwnam(name)
        yield Account(name, pw.pw_uid, pw.pw_gid)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def _as(account: Account, *argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
    """Run as that user with its groups (as a login would give them)."""
    cmd = ["setpriv", f"--reuid={account.uid}", f"--regid={account.gid}", "--init-groups", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)  # type: ignore[call-overload]


PING = (
    "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]);"
    "s.sendall(b'GET /_ping HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n');"
    "print(s.recv(100).split(b'\\r\\n')[0].decode())"
)


@pytest.fixture(scope="module")
def socket_group() -> Iterator[str]:
    name = "ctg" + secrets.token_hex(3)
    with _group(name):
        yield name


@pytest.fixture(scope="module")
def grouped_engine(socket_group: str) -> Iterator[EngineProcess]:
    with running_engine(extra_args=("-G", socket_group)) as eng:
        eng.base.chmod(0o711)  # the test's own temp dir: let other users reach the socket in it
        yield eng


def test_group_members_reach_the_engine_others_do_not(
    grouped_engine: EngineProcess, socket_group: str
) -> None:
    sock = grouped_engine.socket_path
    st = sock.stat()
    assert grp.getgrgid(st.st_gid).gr_name == socket_group and stat.S_IMODE(st.st_mode) == 0o660
    suffix = secrets.token_hex(3)
    with _user("ctm" + suffix, (socket_group,)) as member, _user("cto" + suffix) as outsider:
        r = _as(member, sys.executable, "-c", PING, str(sock))
        assert r.stdout.strip() == "HTTP/1.1 200 OK", r.stderr
        r = _as(outsider, sys.executable, "-c", PING, str(sock))
        assert r.returncode != 0 and "PermissionError" in r.stderr
        env = {"PATH": os.environ["PATH"], "DOCKER_HOST": grouped_engine.docker_host, "HOME": "/tmp"}
        r = _as(member, DOCKER, "run", "--rm", "--network", "none", "busybox", "id", "-u", env=env)
        assert (r.returncode, r.stdout) == (0, "0\n"), r.stderr


def test_unknown_group_is_refused(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "engine.daemon", "-H", f"unix://{tmp_path}/e.sock", "--data-root",
         str(tmp_path / "d"), "--exec-root", str(tmp_path / "x"), "-G", "no-such-group-i13"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip() == "composer-engine: can't create unix socket: group no-such-group-i13 not found"


def test_default_group_is_composer_when_it_exists() -> None:
    try:
        grp.getgrnam("composer")
        made = False
    except KeyError:
        made = True
    if made:
        _run("groupadd", "composer")
    try:
        with running_engine(busybox_image=False) as eng:
            assert grp.getgrgid(eng.socket_path.stat().st_gid).gr_name == "composer"
    finally:
        if made:
            subprocess.run(["groupdel", "composer"], capture_output=True)


# ---- ssh:// ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SSH:
    account: Account
    port: int
    env: dict[str, str]  # PATH with an `ssh` that uses the test's key and known_hosts

    @property
    def host(self) -> str:
        return f"ssh://{self.account.user}@127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ssh(
    grouped_engine: EngineProcess, socket_group: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SSH]:
    if not Path(SSHD).exists():
        pytest.skip("openssh-server is not installed")
    # sshd reads the authorized keys as the user: a directory of its own that others may enter
    tmp = Path(tempfile.mkdtemp(prefix="t-ssh-", dir="/tmp"))
    tmp.chmod(0o755)
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "host_key"))
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "user_key"))
    shutil.copy(tmp / "user_key.pub", tmp / "authorized_keys")
    (tmp / "authorized_keys").chmod(0o644)
    port = _free_port()
    made_privsep = not Path("/run/sshd").exists()  # sshd wants its privilege separation dir
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    with _user("cts" + secrets.token_hex(3), (socket_group,)) as account:
        (tmp / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {tmp}/host_key\nPidFile {tmp}/sshd.pid\n"
            f"AuthorizedKeysFile {tmp}/authorized_keys\nStrictModes no\nUsePAM no\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            f"AllowUsers {account.user}\n"
            # what a remote host's environment would say: where its engine is (and our code, for composer)
            f"SetEnv DOCKER_HOST={grouped_engine.docker_host} PYTHONPATH={REPO}\n"
        )
        with open(tmp / "sshd.log", "wb") as sshd_log:
            sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(tmp / "sshd_config")], stderr=sshd_log)
        try:
            host_key = (tmp / "host_key.pub").read_text().split()
            (tmp / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
            (tmp / "ssh_config").write_text(
                f"Host 127.0.0.1\n  IdentityFile {tmp}/user_key\n  IdentitiesOnly yes\n"
                f"  UserKnownHostsFile {tmp}/known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
            )
            bin_dir = tmp / "bin"
            bin_dir.mkdir()
            (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {tmp}/ssh_config "$@"\n')
            (bin_dir / "ssh").chmod(0o755)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
            env.update({"PATH": f"{bin_dir}:{env['PATH']}", "DOCKER_CONFIG": str(tmp / "docker-config")})
            deadline = time.monotonic() + 60  # sshd comes up slowly on a loaded machine
            while (
                probe := subprocess.run(
                    ["ssh", "-p", str(port), f"{account.user}@127.0.0.1", "true"],
                    env=env,
                    capture_output=True,
                )
            ).returncode:
                log = (tmp / "sshd.log").read_text(errors="replace")[-500:]
                assert sshd.poll() is None and time.monotonic() < deadline, f"sshd: {probe.stderr!r} {log}"
                time.sleep(0.2)
            yield SSH(account, port, env)
        finally:
            sshd.terminate()
            sshd.wait(10)
            if made_privsep:
                with contextlib.suppress(OSError):
                    Path("/run/sshd").rmdir()
            shutil.rmtree(tmp, ignore_errors=True)


def test_docker_cli_over_ssh(ssh: SSH) -> None:
    r = subprocess.run(
        [DOCKER, "-H", ssh.host, "run", "--rm", "--network", "none", "busybox", "echo", "over ssh"],
        env=ssh.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (r.returncode, r.stdout) == (0, "over ssh\n"), r.stderr


def test_composer_over_ssh(ssh: SSH, tmp_path: Path, grouped_engine: EngineProcess) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    command: sleep 30\n    network_mode: none\n"
    )
    env = {**ssh.env, "DOCKER_HOST": ssh.host, "PYTHONPATH": str(REPO)}

    def composer(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "composer.cli.main", "-p", "sshproj", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip

    try:
        r = composer("up", "-d")
        assert r.returncode == 0, r.stderr
        running = grouped_engine.json("GET", "/containers/json")
        assert [c for c in running if c["Labels"].get("com.docker.compose.project") == "sshproj"]
    finally:
        r = composer("down", "-t", "0")
    assert r.returncode == 0, r.stderr


def test_composer_dial_stdio(grouped_engine: EngineProcess) -> None:
    """What a remote host without the docker CLI can run for ssh:// (`composer system dial-stdio`, behind
    a `docker` wrapper): stdin and stdout relayed to the engine, stdin's end a half-close."""
    request = b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n"
    r = subprocess.run(
        [sys.executable, "-m", "composer.cli.main", "-H", grouped_engine.docker_host, "system", "dial-stdio"],
        input=request, capture_output=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"HTTP/1.1 200 OK") and r.stdout.count(b"HTTP/1.1 200 OK") == 2
    assert b'"ApiVersion"' in r.stdout
