"""similarity_bases: files an instructor adds as the course's own code for one assignment (the
similarity report subtracts them)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('similarity_bases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_assignment_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('added_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_similarity_bases_added_by'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_assignment_id'], ['course_assignments.id'],
                            name=op.f('fk_similarity_bases_course_assignment_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_similarity_bases')),
    sa.UniqueConstraint('course_assignment_id', 'name', name=op.f('uq_similarity_bases_course_assignment_id'))
    )


def downgrade() -> None:
    op.drop_table('similarity_bases')
