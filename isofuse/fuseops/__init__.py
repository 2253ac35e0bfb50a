"""FUSE layer: pyfuse3 operations and the mount lifecycle (trio).

- ``readonly``:  the read-only ISO 9660 mount's operations (isofuse mount);
- ``stage_ops``: a thin adapter from pyfuse3 requests to the stage's facade
  (isofuse/stage/staging.py);
- ``boundary``:  the one place where exceptions become errno values;
- ``session``:   mounting, the trio main loop, unmounting on signals.
"""
