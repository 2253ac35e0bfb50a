"""Mastering: a tree in, an ISO 9660 image out, as a random-access stream.

Plan first, then produce any byte at any offset (libisofs' split of block
counting from writing):

- ``sourcetree``, ``naming``, ``isotree``: scan the sources into nodes, give
  them ISO 9660 / Joliet names, build the disc's directory trees;
- ``planner``:   one directory's records, their sizes and continuation
  areas (ISO and Joliet), no sectors and no I/O;
- ``placement``: where the volume descriptors go for given options;
- ``dataplace``: where each file's data goes;
- ``layout``:    runs the steps in order and owns the sector map (El Torito,
  ``checksums`` for --md5, ``sysarea``/``appended`` for hybrid images);
- ``direncode``, ``rockridge_writer``: bytes of directories, path tables and
  Rock Ridge entries (records via format/dirrecord.py);
- ``sizing``:    the stage's live size model, on the same planner;
- ``stream``, ``datawriter``: the image as a random-access stream, and
  writing it out;
- ``session``:   one session as every front end masters it (sources,
  options, previous session, start sector, removals -> a layout, its
  stream, the descriptor copy for growing); ``previous`` imports the old
  session; ``options`` holds MasterOptions and the staging profile.
"""
