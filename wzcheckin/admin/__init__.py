"""Admin room: the officials desk, dashboards, exports, audit viewer."""
