"""submission rows: on PostgreSQL, a submission's code and results are stored out of line
(toast_tuple_target 128), so that the table's rows stay narrow and the pages that read a course's
tens of thousands of submissions (the gradebook, the overview) scan a third of the pages
(docs/BENCHMARKS.md, "Instructor pages"). Rows written before this keep their layout until
PostgreSQL rewrites them (``VACUUM FULL submissions``); SQLite has no such setting.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE submissions SET (toast_tuple_target = 128)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE submissions RESET (toast_tuple_target)")
