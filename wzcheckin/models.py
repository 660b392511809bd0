"""Every room's models, imported in one place so Alembic and the tests see the whole schema."""

from wzcheckin.accounts.models import ApiToken, Role, User, UserSession, Worker
from wzcheckin.codes.models import PaperPass, SigningKey
from wzcheckin.core.audit import AuditEntry
from wzcheckin.enterprises.models import Enterprise, Ownership
from wzcheckin.scanning.models import Checkpoint, CheckpointKind, Scan, ScanResult

__all__ = [
    "ApiToken", "AuditEntry", "Checkpoint", "CheckpointKind", "Enterprise", "Ownership",
    "PaperPass", "Role", "Scan", "ScanResult", "SigningKey", "User", "UserSession", "Worker",
]
