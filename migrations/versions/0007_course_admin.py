"""course administration: withdrawn assignments, dropped members and their class, the audit log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('course_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_name', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('dropped_at', UTCDateTime(), nullable=True))
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('old', sa.JSON(), nullable=True),
        sa.Column('new', sa.JSON(), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_audit_log_course_id'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index('ix_audit_log_course_at', 'audit_log', ['course_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_log_course_at', table_name='audit_log')
    op.drop_table('audit_log')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('dropped_at')
        batch_op.drop_column('class_name')
    with op.batch_alter_table('course_assignments', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
