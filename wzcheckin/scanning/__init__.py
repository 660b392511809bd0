"""Scanning room: checkpoints, the scan record and the scan API."""
