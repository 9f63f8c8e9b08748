"""The image store: content-addressed blobs, layers unpacked once, the name index, container rw layers.

store.ImageStore is the facade (docs/engine-contracts.md). Modules: reference (names), blobs + digest
(verified content), compression + tarsafe + unpack + layers (layer archives -> overlay dirs), rw (overlay
mounts, diffs), delete (Docker's removal rules), inspect (API JSON), importer + changes + commit (new
images), archive + tarstream (save/load).
"""
