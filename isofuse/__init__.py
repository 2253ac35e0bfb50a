"""isofuse: make data discs on Linux.

Packages, one layer each (lower layers never import higher ones):

- ``isofuse.format``  pure ISO 9660 / SUSP / Rock Ridge / Joliet / El Torito
  record decoding: bytes in, records out, no I/O.
- ``isofuse.reader``  lazy, random-access image reader on top of the format
  layer (files and block devices).
- ``isofuse.fuseops`` the pyfuse3 operations and mount lifecycle; the only
  place that turns errors into errno values.
- ``isofuse.cli``     command-line front ends.
"""

__version__ = "0.1.0"
