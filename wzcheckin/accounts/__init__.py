"""Accounts room: users, roles, log-in, worker registration."""
