"""The canonical form of a Compose project shared by the loader (which produces it) and the model (which
hashes and prints it): unit parsing (`units`: durations, byte sizes, scalars) and key order (`order`).
A leaf: it imports nothing of composer."""
