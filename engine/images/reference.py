"""Docker image references: the distribution grammar, normalization, and the familiar form users see.

`busybox` -> `docker.io/library/busybox:latest`; `localhost:5000/x` keeps its registry; `name@sha256:...`
pins content. Errors use Docker's wording ("invalid reference format") because clients match on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InvalidParameter

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE_RE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ID_RE = re.compile(r"^[a-f0-9]{64}$")

INVALID = "invalid reference format"


@dataclass(frozen=True)
class Reference:
    """A fully normalized reference: domain and path always set; tag and/or digest optional."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        out = self.name
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def familiar_name(self) -> str:
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in path[len(OFFICIAL_REPO_PREFIX):]:
                return path[len(OFFICIAL_REPO_PREFIX):]
            return path
        return self.name

    def familiar(self) -> str:
        out = self.familiar_name()
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.domain, self.path, None, digest)


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse(ref: str) -> Reference:
    """Parse and normalize a user-supplied reference (no default tag added)."""
    if not isinstance(ref, str) or not ref:
        raise InvalidParameter(INVALID)
    if _ID_RE.match(ref):
        raise InvalidParameter(f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings")
    match = _REFERENCE_RE.match(ref)
    if match is None:
        # Docker's one helpful case: a valid reference apart from upper case in the repository path.
        lowered = _REFERENCE_RE.match(ref.lower())
        if lowered is not None:
            name = ref.split("@", 1)[0]
            name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
            domain, remainder = _split_domain(name)
            if remainder.lower() != remainder:
                raise InvalidParameter(f"{INVALID}: repository name ({remainder}) must be lowercase")
        raise InvalidParameter(INVALID)
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidParameter(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    domain, remainder = _split_domain(name)
    if remainder.lower() != remainder:
        raise InvalidParameter(f"{INVALID}: repository name ({remainder}) must be lowercase")
    return Reference(domain, remainder, tag, digest)


def parse_tagged(ref: str) -> Reference:
    """Parse, adding `:latest` when neither tag nor digest is given (Docker's TagNameOnly)."""
    parsed = parse(ref)
    if parsed.tag is None and parsed.digest is None:
        return parsed.with_tag(DEFAULT_TAG)
    return parsed


def normalize(ref: str) -> str:
    """`busybox` -> `docker.io/library/busybox:latest`."""
    return str(parse_tagged(ref))


def familiar(ref: str) -> str:
    """`docker.io/library/busybox:latest` -> `busybox:latest` (the form users type and see)."""
    return parse(ref).familiar()
