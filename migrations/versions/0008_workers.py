"""workers: each running grading worker's heartbeat (queues, last seen), its sandbox's missing
layers and its fault counters; /readyz, /metrics and the submission view read it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workers',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('queues', sa.String(length=64), nullable=False),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('last_seen', UTCDateTime(), nullable=False),
    sa.Column('missing_layers', sa.JSON(), nullable=False),
    sa.Column('grader_faults', sa.Integer(), nullable=False),
    sa.Column('sandbox_failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_workers'))
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workers_last_seen'), ['last_seen'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workers_last_seen'))
    op.drop_table('workers')
