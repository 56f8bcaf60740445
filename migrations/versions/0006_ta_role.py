"""teaching assistants: the role ``ta`` (a value of memberships.role, a string column) and what
the course's instructor lets its TAs do besides reading and grading (courses.ta_grants)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ta_grants', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    op.execute("DELETE FROM memberships WHERE role = 'ta'")  # the old schema knows no TA; none becomes a student
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('ta_grants')
