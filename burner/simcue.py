"""CD session-at-once in the simulated drive: SEND CUE SHEET (MMC-6 §6.33)
and the WRITEs that follow it (docs/simulated-drive.md, "CD SAO").

With page 05h write type 2 on a CD the host describes the whole session in
a cue sheet first; the drive then takes the sectors from the pre-gap on
(LBA -150) in order, and writes lead-in and lead-out itself when the last
sector before the lead-out is flushed: no CLOSE TRACK/SESSION (libburn and
cdrecord send none).  The sim takes the layout libburn and cdrecord send for
one data track (mmc.data_track_cue_sheet) and checks every field of it.
"""

from . import mmc, simpage05
from .simsense import Check, invalid_parameter, sequence_error

FORMS = {simpage05.BLOCK_MODE1: mmc.CUE_FORM_MODE1,
         simpage05.BLOCK_MODE2_FORM1: mmc.CUE_FORM_MODE2_FORM1}
MIN_TRACK = 300              # Red Book: a track is at least 4 seconds


def sao(sim):
    """Page 05h asks for session-at-once on a CD."""
    return sim.info.family == "cd" and simpage05.params(sim).write_type == simpage05.WT_DAO


def _expected(blocks, form):
    """(ctl/adr, TNO, index, form, LBA) of the four descriptors, in order."""
    lead = mmc.CUE_FORM_LEAD
    return [(mmc.CUE_CTL_ADR_DATA, 0, 0, lead, -mmc.CUE_PREGAP),
            (mmc.CUE_CTL_ADR_DATA, 1, 0, form, -mmc.CUE_PREGAP),
            (mmc.CUE_CTL_ADR_DATA, 1, 1, form, 0),
            (mmc.CUE_CTL_ADR_DATA, mmc.CUE_LEAD_OUT, 1, lead, blocks)]


def _check_entries(sim, data):
    """The lead-out LBA of a valid cue sheet; else 5/26/00 pointing at the
    first byte that is wrong (SPC-4 §4.5.2.4.2, parameter list)."""
    if len(data) < 32:
        raise Check(5, 0x1A, 0x00)           # PARAMETER LIST LENGTH ERROR
    entries = mmc.parse_cue_sheet(data)
    lead_out = entries[3].lba
    if entries[3].track != mmc.CUE_LEAD_OUT:
        raise invalid_parameter(25, 7)       # one data track only, then the lead-out
    if len(data) > 32:
        raise invalid_parameter(32, 7)       # nothing after the lead-out
    if lead_out < MIN_TRACK or lead_out > sim.state.capacity:
        raise invalid_parameter(29, 7)
    form = FORMS.get(simpage05.params(sim).block_type)
    for number, (entry, want) in enumerate(zip(entries, _expected(lead_out, form))):
        got = (entry.ctl_adr, entry.track, entry.index, entry.form, entry.lba)
        for field, (have, expected) in enumerate(zip(got, want)):
            if have != expected:
                byte = (0, 1, 2, 3, 5)[field]
                raise invalid_parameter(number * 8 + byte, 7)
        if entry.scms:
            raise invalid_parameter(number * 8 + 4, 7)
    return lead_out


def send_cue_sheet(sim, cdb, data):
    sim.need_medium()
    st = sim.state
    from .simwrite import _check_writable
    _check_writable(sim)
    if not sao(sim):
        raise sequence_error()               # a cue sheet belongs to SAO (page 05h type 2)
    if st.status != "blank" or st.open_track is not None or st.recorded_end:
        raise sequence_error()               # SAO writes a disc from its first session on
    length = int.from_bytes(cdb[6:9], "big")
    data = bytes(data or b"")
    if length != len(data) or length % 8:
        raise Check(5, 0x1A, 0x00)
    lead_out = _check_entries(sim, data)
    if simpage05.params(sim).test_write:
        sim.start_dummy()                    # a test write: the disc is left as it was
    st = sim.state
    st.sao = [-mmc.CUE_PREGAP, lead_out]
    sim.save()
    return b""


def check_write(sim, lba, blocks):
    """SAO WRITEs: after the cue sheet, in order from the pre-gap on, never
    into the lead-out."""
    st = sim.state
    if st.sao is None:
        raise sequence_error()               # SAO without a cue sheet
    expected, lead_out = st.sao
    if lba != expected or lba + blocks > lead_out:
        raise Check(5, 0x21, 0x02, info=lba)
    st.sao[0] = lba + blocks


def finish(sim):
    """SYNCHRONIZE CACHE in SAO: the whole track written -- the drive writes
    lead-in and lead-out and the session is closed (page 05h multi-session
    11b leaves room for the next one); short of the lead-out the session
    cannot be completed and the track is left damaged."""
    st = sim.state
    if st.sao is None or st.open_track is None:
        return None
    expected, lead_out = st.sao
    if expected < lead_out:
        st.damaged = True
        return False
    st.sao = None
    return True
