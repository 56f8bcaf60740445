"""web indexes: submissions by course assignment and status, so that the dashboard's counts
(an assignment's submissions by status, the course's queue and grader faults) read an index
instead of the table (docs/BENCHMARKS.md, "Instructor pages")

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_ca_status', ['course_assignment_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_ca_status')
