"""A real registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 and a free port.

`start_registry(tmp)` gives a plain HTTP registry; `tls=make_tls(tmp)` serves HTTPS with a CA the test made;
`users={"alice": "pw"}` turns on htpasswd Basic auth (bcrypt entries). Always stop() it (the fixtures do).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path


@dataclass
class Registry:
    host: str  # "127.0.0.1:PORT"
    root: Path  # storage root directory
    proc: subprocess.Popen[bytes]
    tls: TLSFiles | None
    users: dict[str, str]
    log_path: Path

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_tls(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TLSFiles:
    """A throwaway CA and a server certificate for `hosts`, signed by it (PEM files in `directory`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "composer test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    nokey = serialization.NoEncryption()
    files = TLSFiles(
        directory / "ca.crt", directory / "ca.key", directory / "server.crt", directory / "server.key"
    )
    files.ca_cert.write_bytes(ca.public_bytes(pem))
    files.ca_key.write_bytes(ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, nokey))
    files.cert.write_bytes(cert.public_bytes(pem))
    files.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, nokey))
    return files


def htpasswd(users: dict[str, str]) -> str:
    """htpasswd lines with bcrypt hashes, the only kind distribution accepts."""
    import bcrypt

    return "".join(
        f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}\n" for u, p in users.items()
    )


def _wait_ready(reg: Registry, timeout: float = 60.0) -> None:
    ctx = ssl.create_default_context(cafile=str(reg.tls.ca_cert)) if reg.tls else None
    deadline = time.monotonic() + timeout
    while True:
        if reg.proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited with {reg.proc.returncode}:\n{reg.log()}")
        try:
            with urllib.request.urlopen(f"{reg.url}/v2/", timeout=2, context=ctx):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            reg.stop()
            raise RuntimeError(f"docker-registry did not answer on {reg.url}:\n{reg.log()}")
        time.sleep(0.05)


def start_registry(
    workdir: Path,
    *,
    tls: TLSFiles | None = None,
    users: dict[str, str] | None = None,
    token: dict[str, str] | None = None,
    bind: str = "127.0.0.1",
    netns: str | None = None,
) -> Registry:
    """Run `docker-registry serve` with a config in `workdir`; storage under `workdir/storage`.

    `token` configures Bearer token auth: {"realm", "service", "issuer", "rootcertbundle"}.
    `bind`/`netns`: serve on that address inside that network namespace (a test cluster's nodes).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    http: dict[str, object] = {
        "addr": f"{bind}:{port}",
        "secret": "composer-tests",
        "headers": {"X-Content-Type-Options": ["nosniff"]},
    }
    if tls:
        http["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "storage")},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "http": http,
    }
    if users:
        (workdir / "htpasswd").write_text(htpasswd(users))
        config["auth"] = {"htpasswd": {"realm": "composer-test", "path": str(workdir / "htpasswd")}}
    elif token:
        config["auth"] = {"token": dict(token)}
    cfg_path = workdir / "config.yml"
    cfg_path.write_text(json.dumps(config))  # JSON is YAML
    log_path = workdir / "registry.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                *(["nsenter", f"--net=/run/netns/{netns}"] if netns else []),
                REGISTRY_BIN,
                "serve",
                str(cfg_path),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    reg = Registry(f"{bind}:{port}", workdir / "storage", proc, tls, dict(users or {}), log_path)
    _wait_ready(reg)
    return reg


@contextmanager
def running_registry(workdir: Path, **kwargs: object) -> Iterator[Registry]:
    reg = start_registry(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield reg
    finally:
        reg.stop()


# -- Bearer token auth: a small token server that signs JWTs the way distribution's token auth checks them --


@dataclass
class TokenServer:
    realm: str  # "http://127.0.0.1:PORT/token"
    service: str
    issuer: str
    cert_path: Path  # the registry's rootcertbundle
    requests: list[dict[str, str]]  # every token request: scope, account, authorized user

    def registry_config(self) -> dict[str, str]:
        return {
            "realm": self.realm,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": str(self.cert_path),
        }


def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@contextmanager
def token_server(
    workdir: Path,
    users: dict[str, str],
    *,
    service: str = "composer-test-registry",
    issuer: str = "composer-test-issuer",
) -> Iterator[TokenServer]:
    """Serve GET /token: users with a valid Basic login get the actions they ask for; anonymous callers
    get "pull" only; a wrong password gets 401. Tokens are ES256 JWTs with the signing cert in `x5c`."""
    import base64
    import secrets
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import NameOID

    workdir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "composer test token signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path = workdir / "token-signer.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    log: list[dict[str, str]] = []

    def sign(subject: str, access: list[dict[str, object]]) -> str:
        t = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [x5c]}
        claims = {
            "iss": issuer,
            "sub": subject,
            "aud": service,
            "exp": t + 300,
            "nbf": t - 10,
            "iat": t,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict[str, object] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _grant(self, query: dict[str, list[str]], user: str, how: str) -> None:
            access: list[dict[str, object]] = []
            for scope in query.get("scope", []):
                for one in scope.split(" "):
                    kind, _, rest = one.partition(":")
                    repo, _, actions = rest.rpartition(":")
                    granted = actions.split(",") if user else [a for a in actions.split(",") if a == "pull"]
                    access.append({"type": kind, "name": repo, "actions": granted})
            log.append(
                {
                    "scope": " ".join(query.get("scope", [])),
                    "user": user,
                    "account": query.get("account", [""])[0],
                    "how": how,
                }
            )
            token = sign(user, access)
            if how == "refresh_token":
                self._answer(200, {"access_token": token, "expires_in": 300, "scope": ""})
            else:
                self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            query = parse_qs(urlsplit(self.path).query)
            user = ""
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                u, _, p = base64.b64decode(header[6:]).decode().partition(":")
                if users.get(u) != p:
                    log.append({"scope": " ".join(query.get("scope", [])), "user": "!denied"})
                    self._answer(401)
                    return
                user = u
            self._grant(query, user, "basic" if user else "anonymous")

        def do_POST(self) -> None:  # noqa: N802
            """OAuth2 refresh-token grant: a refresh token "refresh:<user>" stands for that user."""
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
            user = form.get("refresh_token", [""])[0].removeprefix("refresh:")
            if form.get("grant_type") != ["refresh_token"] or user not in users:
                log.append({"scope": " ".join(form.get("scope", [])), "user": "!denied"})
                self._answer(401)
                return
            self._grant(form, user, "refresh_token")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield TokenServer(
            f"http://127.0.0.1:{server.server_address[1]}/token", service, issuer, cert_path, log
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
