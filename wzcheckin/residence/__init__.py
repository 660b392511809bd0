"""Residence room: evidence, the cutoff, snapshots, headcounts and subsidies."""
