"""Command-line front ends (``isofuse``)."""
