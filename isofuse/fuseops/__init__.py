"""FUSE layer: pyfuse3 operations and the mount lifecycle (trio)."""
