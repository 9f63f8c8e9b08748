"""The root-only kernel interface every other engine package uses: system calls through libc
(`syscalls`), idmapped mounts (`idmap`) and mount(8)/umount(8) (`mounts`). A leaf: it imports no other
engine package but `engine.errors` (and the `engine._typecheck` constant), and stays cheap to import (the
container monitor loads it)."""
