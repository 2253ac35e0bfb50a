"""Mastering: a tree in, an ISO 9660 image out, as a random-access stream."""
