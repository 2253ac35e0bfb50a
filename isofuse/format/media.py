"""How many 2048-byte sectors each kind of disc holds: the one capacity table.

The stage's `df` and the burner's simulated media both count against these
figures; docs/media-capacity.md gives the sources.  A real disc's own report
(READ TRACK INFORMATION free blocks, READ FORMAT CAPACITIES; MMC-6 6.27 and
6.24) is the authority for that disc: these are the nominal values drives
report for blank media.
"""

CD_74_MIN = 333_000          # Red Book: 74 min x 60 s x 75 sectors, "650 MB"
CD_80_MIN = 360_000          # 80 min x 60 x 75, "700 MB"
DVD_SINGLE_LAYER = 2_295_104  # DVD-R and DVD+R SL, 4.7 GB
DVD_MINUS_R_DUAL_LAYER = 4_171_712
DVD_PLUS_R_DUAL_LAYER = 4_173_824
BD_SINGLE_LAYER = 12_219_392  # BD-R 25 GB
BD_DUAL_LAYER = 24_438_784    # BD-R 50 GB
BD_TRIPLE_LAYER = 48_878_592  # BD-R XL 100 GB
BD_RE_DEFAULT_SPARES = 11_826_176  # BD-RE 25 GB formatted with the default spare area

# The names `isofuse stage -o medium=` takes.
STAGE_MEDIA = {
    "cd650": CD_74_MIN, "cd700": CD_80_MIN, "dvd": DVD_SINGLE_LAYER,
    "dvd-dl": DVD_MINUS_R_DUAL_LAYER, "dvd+r-dl": DVD_PLUS_R_DUAL_LAYER,
    "bd25": BD_SINGLE_LAYER, "bd50": BD_DUAL_LAYER,
}
