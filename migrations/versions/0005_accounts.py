"""accounts: passwords, invitations, named bearer tokens and browser sessions (api_tokens),
failed logins; the users' single token moves to api_tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.Enum('token', 'session', name='tokenkind', native_enum=False, length=32),
                              nullable=False),
                    sa.Column('name', sa.String(length=100), nullable=False),
                    sa.Column('token_hash', sa.String(length=64), nullable=False),
                    sa.Column('created_at', UTCDateTime(), nullable=False),
                    sa.Column('expires_at', UTCDateTime(), nullable=True),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'),
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
                    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')))
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('invitations',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('user_id', sa.Integer(), nullable=False),
                    sa.Column('code_hash', sa.String(length=64), nullable=False),
                    sa.Column('created_at', UTCDateTime(), nullable=False),
                    sa.Column('expires_at', UTCDateTime(), nullable=False),
                    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'),
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
                    sa.UniqueConstraint('code_hash', name=op.f('uq_invitations_code_hash')),
                    sa.UniqueConstraint('user_id', name=op.f('uq_invitations_user_id')))
    op.create_table('login_failures',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.Column('client', sa.String(length=64), nullable=False),
                    sa.Column('failed_at', UTCDateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures')))
    for column in ('name', 'client', 'failed_at'):
        op.create_index(op.f(f'ix_login_failures_{column}'), 'login_failures', [column], unique=False)
    # Each user's one token becomes a named token, then the column goes.
    op.execute("INSERT INTO api_tokens (user_id, kind, name, token_hash, created_at) "
               "SELECT id, 'token', 'default', token_hash, created_at FROM users")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_users_token_hash'), type_='unique')
        batch_op.drop_column('token_hash')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch_op.drop_column('password_hash')
    # A user keeps their oldest bearer token; one with none can no longer call the API.
    op.execute("UPDATE users SET token_hash = (SELECT t.token_hash FROM api_tokens t WHERE t.user_id = users.id "
               "AND t.kind = 'token' ORDER BY t.id LIMIT 1)")
    op.execute("UPDATE users SET token_hash = 'revoked-' || id WHERE token_hash IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('token_hash', nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_token_hash'), ['token_hash'])
    op.drop_table('login_failures')
    op.drop_table('invitations')
    op.drop_table('api_tokens')
