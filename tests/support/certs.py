"""A throwaway CA and certificates made with the openssl CLI, laid out as DOCKER_CERT_PATH wants them
(ca.pem, cert.pem, key.pem), for the TLS tests.

    ca = make_ca(tmp / "ca")
    server = issue(ca, tmp / "server", "engine", server_ips=("127.0.0.1",))
    client = issue(ca, tmp / "client", "client")  # .ca_pem, .cert, .key; .dir: DOCKER_CERT_PATH
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CA:
    dir: Path

    @property
    def cert(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def key(self) -> Path:
        return self.dir / "ca-key.pem"


@dataclass(frozen=True)
class Issued:
    dir: Path  # holds ca.pem, cert.pem, key.pem

    @property
    def ca_pem(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.dir / "cert.pem"

    @property
    def key(self) -> Path:
        return self.dir / "key.pem"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str = "test CA") -> CA:
    directory.mkdir(parents=True)
    _openssl("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ca-key.pem", cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-key", "ca-key.pem", "-sha256", "-days", "2", "-subj", f"/CN={name}",
        "-out", "ca.pem", cwd=directory,
    )  # fmt: skip
    return CA(directory)


def issue(ca: CA, directory: Path, name: str, *, server_ips: tuple[str, ...] = ()) -> Issued:
    """A key and a certificate signed by `ca`: for a server (with those IP SANs) or, without, a client."""
    directory.mkdir(parents=True)
    _openssl("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "key.pem", cwd=directory)
    _openssl("req", "-new", "-key", "key.pem", "-subj", f"/CN={name}", "-out", "req.csr", cwd=directory)
    if server_ips:
        ext = (
            "subjectAltName=" + ",".join(f"IP:{ip}" for ip in server_ips) + "\nextendedKeyUsage=serverAuth\n"
        )
    else:
        ext = "extendedKeyUsage=clientAuth\n"
    (directory / "ext.cnf").write_text(ext)
    _openssl(
        "x509", "-req", "-in", "req.csr", "-CA", str(ca.cert), "-CAkey", str(ca.key), "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", "ext.cnf", "-out", "cert.pem", cwd=directory,
    )  # fmt: skip
    shutil.copy(ca.cert, directory / "ca.pem")
    return Issued(directory)
