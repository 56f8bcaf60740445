"""lti: LTI 1.3 platforms, resource links, the platforms' user ids, launch storage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lti_platforms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('client_id', sa.String(length=255), nullable=False),
        sa.Column('deployment_ids', sa.JSON(), nullable=False),
        sa.Column('auth_login_url', sa.String(length=1000), nullable=False),
        sa.Column('auth_token_url', sa.String(length=1000), nullable=False),
        sa.Column('key_set_url', sa.String(length=1000), nullable=False),
        sa.Column('auth_audience', sa.String(length=1000), nullable=True),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('student_id_claim', sa.String(length=200), nullable=False),
        sa.Column('tool_private_key', sa.Text(), nullable=False),
        sa.Column('tool_key_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_lti_platforms_course_id_courses'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
        sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer')),
    )
    op.create_table(
        'lti_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('resource_link_id', sa.String(length=255), nullable=False),
        sa.Column('course_assignment_id', sa.Integer(), nullable=False),
        sa.Column('lineitem_url', sa.String(length=1000), nullable=True),
        sa.Column('ags_scopes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['course_assignment_id'], ['course_assignments.id'],
                                name=op.f('fk_lti_links_course_assignment_id_course_assignments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_links_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_links')),
        sa.UniqueConstraint('platform_id', 'resource_link_id', name=op.f('uq_lti_links_platform_id')),
    )
    op.create_index(op.f('ix_lti_links_course_assignment_id'), 'lti_links', ['course_assignment_id'])
    op.create_table(
        'lti_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('sub', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'],
                                name=op.f('fk_lti_accounts_platform_id_lti_platforms'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_accounts_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_accounts')),
        sa.UniqueConstraint('platform_id', 'sub', name=op.f('uq_lti_accounts_platform_id')),
        sa.UniqueConstraint('platform_id', 'user_id', name='uq_lti_accounts_platform_id_user_id'),
    )
    op.create_table(
        'lti_launch_data',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_launch_data')),
        sa.UniqueConstraint('key', name=op.f('uq_lti_launch_data_key')),
    )
    op.create_index(op.f('ix_lti_launch_data_expires_at'), 'lti_launch_data', ['expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_lti_launch_data_expires_at'), table_name='lti_launch_data')
    op.drop_table('lti_launch_data')
    op.drop_table('lti_accounts')
    op.drop_index(op.f('ix_lti_links_course_assignment_id'), table_name='lti_links')
    op.drop_table('lti_links')
    op.drop_table('lti_platforms')
