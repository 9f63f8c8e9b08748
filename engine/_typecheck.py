"""`typing.TYPE_CHECKING` without importing `typing` (as composer._typecheck; the two packages share no
code): the runtime zygote preloads every module a container start needs and lives as long as the daemon, so
modules on its path name typing's types only in annotations (~0.7 MiB of its memory).
"""

TYPE_CHECKING = False
