"""isofuse stage: the staging directory that is the future disc."""
