"""temperatures as given (two decimals); ID and phone numbers re-normalised to ASCII digits

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Issue 12, items 6 and 7:

- the gate compares a temperature reading as given (37.25 is below 37.3), so the readings are
  stored as given: ``Numeric(4, 1)`` → ``Numeric(5, 2)`` on scans, health alerts and visitor
  registrations;
- data only: stored ID and phone numbers written in another script's digits are rewritten in
  their canonical ASCII form and their look-up hashes recomputed
  (:func:`wzcheckin.core.renormalise.renormalise_identifiers`, which needs the app's vault —
  migrations run inside the Flask app). Duplicates it finds are left unchanged and reported on
  stderr by table, row id and masked number only.
"""
import sys

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TEMPERATURE_COLUMNS = (("scans", True), ("health_alerts", True), ("visitor_registrations", False))


def _retype_temperatures(old, new):
    for table, nullable in TEMPERATURE_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('temperature', existing_type=old, type_=new, existing_nullable=nullable)


def _say(line):
    print(f"0002: {line}", file=sys.stderr)


def upgrade():
    _retype_temperatures(sa.Numeric(precision=4, scale=1), sa.Numeric(precision=5, scale=2))
    if context.is_offline_mode():
        _say("offline (--sql) mode: stored ID and phone numbers were NOT re-normalised; run it online")
        return
    from flask import current_app

    from wzcheckin.core.renormalise import renormalise_identifiers

    report = renormalise_identifiers(op.get_bind(), current_app.extensions["wzcheckin.vault"])
    for line in report.lines():
        _say(line)


def downgrade():
    # Re-normalised numbers stay in their ASCII form (it is the same number); a second decimal
    # of a temperature is rounded away.
    _retype_temperatures(sa.Numeric(precision=5, scale=2), sa.Numeric(precision=4, scale=1))
