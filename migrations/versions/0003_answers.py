"""answers: written answers belong to the student's work on an assignment; a score is kept with
the answer text it scored; submissions.max_score holds the auto-graded points available only

Revision ID: 0003
Revises: 0002

Data: every stored result's answers become the student's current answers (the latest upload
carrying each question wins); each score of a submission's written answer moves to the answer,
with the hash of the text that submission carried.  A graded submission's ``max_score`` becomes its
result's ``max_score`` (it held the written points too); an ungraded one loses the written points a
graded one of the same course assignment shows (and gets its own when it is recorded).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

submissions = sa.table('submissions', sa.column('id', sa.Integer()), sa.column('course_assignment_id', sa.Integer()),
                       sa.column('user_id', sa.Integer()), sa.column('created_at', UTCDateTime()),
                       sa.column('max_score', sa.Float()), sa.column('result', sa.JSON()))
answers = sa.table('answers', sa.column('id', sa.Integer()), sa.column('course_assignment_id', sa.Integer()),
                   sa.column('user_id', sa.Integer()), sa.column('name', sa.String()), sa.column('text', sa.Text()),
                   sa.column('sha256', sa.String()), sa.column('submission_id', sa.Integer()),
                   sa.column('answered_at', UTCDateTime()))
SCORE_COLUMNS = ('score', 'comment', 'scored_by', 'scored_at')


def _scores_table(keys: list[sa.Column]) -> sa.Table:
    return sa.table('written_scores', *keys, sa.column('score', sa.Float()), sa.column('comment', sa.Text()),
                    sa.column('scored_by', sa.Integer()), sa.column('scored_at', UTCDateTime()))


old_scores = _scores_table([sa.column('submission_id', sa.Integer()), sa.column('name', sa.String())])
new_scores = _scores_table([sa.column('answer_id', sa.Integer()), sa.column('answer_sha256', sa.String())])


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode('utf-8', 'backslashreplace')).hexdigest()


def _create_scores(keys: list[sa.Column], unique: tuple[str, str]) -> None:
    op.create_table('written_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    *keys,
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('scored_by', sa.Integer(), nullable=True),
    sa.Column('scored_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['scored_by'], ['users.id'], name=op.f('fk_written_scores_scored_by'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_written_scores')),
    sa.UniqueConstraint(*unique, name=op.f(f'uq_written_scores_{unique[0]}'))
    )


def upgrade() -> None:
    op.create_table('answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['course_assignment_id'], ['course_assignments.id'], name=op.f('fk_answers_course_assignment_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_answers_submission_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_answers_user_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answers')),
    sa.UniqueConstraint('course_assignment_id', 'user_id', 'name', name=op.f('uq_answers_course_assignment_id'))
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answers_user_id'), ['user_id'], unique=False)

    connection = op.get_bind()
    owner, carried, latest, written_points = {}, {}, {}, {}
    rows = connection.execute(sa.select(submissions.c.id, submissions.c.course_assignment_id, submissions.c.user_id,
                                         submissions.c.created_at, submissions.c.max_score, submissions.c.result)
                              .order_by(submissions.c.created_at, submissions.c.id)).all()
    for submission_id, offered_id, user_id, created_at, max_score, result in rows:
        if result is None:
            continue
        owner[submission_id] = (offered_id, user_id)
        written_points[offered_id] = max_score - result.get('max_score', 0.0)
        connection.execute(submissions.update().where(submissions.c.id == submission_id)
                           .values(max_score=result.get('max_score', 0.0)))
        for name, text in (result.get('answers') or {}).items():
            carried[(submission_id, name)] = _digest(text)
            latest[(offered_id, user_id, name)] = {'course_assignment_id': offered_id, 'user_id': user_id,
                                                   'name': name, 'text': text, 'sha256': _digest(text),
                                                   'submission_id': submission_id, 'answered_at': created_at}
    for submission_id, offered_id, _, _, max_score, result in rows:
        if result is None and offered_id in written_points:
            connection.execute(submissions.update().where(submissions.c.id == submission_id)
                               .values(max_score=max_score - written_points[offered_id]))
    if latest:
        connection.execute(answers.insert(), list(latest.values()))
    answer_ids = {(o, u, n): i for i, o, u, n in connection.execute(sa.select(
        answers.c.id, answers.c.course_assignment_id, answers.c.user_id, answers.c.name))}
    moved = {}
    for submission_id, name, *score in connection.execute(
            sa.select(old_scores.c.submission_id, old_scores.c.name, *(old_scores.c[c] for c in SCORE_COLUMNS))
            .order_by(old_scores.c.scored_at)):
        sha256 = carried.get((submission_id, name))
        answer_id = sha256 and answer_ids.get((*owner[submission_id], name))
        if answer_id:  # a score of a text the result carries (always, unless the row was edited by hand)
            moved[(answer_id, sha256)] = {'answer_id': answer_id, 'answer_sha256': sha256,
                                          **dict(zip(SCORE_COLUMNS, score))}

    op.drop_table('written_scores')
    _create_scores([sa.Column('answer_id', sa.Integer(), nullable=False),
                    sa.Column('answer_sha256', sa.String(length=64), nullable=False),
                    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_written_scores_answer_id'),
                                            ondelete='CASCADE')], ('answer_id', 'answer_sha256'))
    if moved:
        connection.execute(new_scores.insert(), list(moved.values()))


def downgrade() -> None:
    """Scores of current answers go back to the submission that carried the text; others are lost."""
    connection = op.get_bind()
    kept = [{'submission_id': submission_id, 'name': name, **dict(zip(SCORE_COLUMNS, score))}
            for submission_id, name, *score in connection.execute(
                sa.select(answers.c.submission_id, answers.c.name, *(new_scores.c[c] for c in SCORE_COLUMNS))
                .join(new_scores, sa.and_(new_scores.c.answer_id == answers.c.id,
                                          new_scores.c.answer_sha256 == answers.c.sha256))
                .where(answers.c.submission_id.is_not(None)))]
    op.drop_table('written_scores')
    _create_scores([sa.Column('submission_id', sa.Integer(), nullable=False),
                    sa.Column('name', sa.String(length=64), nullable=False),
                    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'],
                                            name=op.f('fk_written_scores_submission_id'), ondelete='CASCADE')],
                   ('submission_id', 'name'))
    if kept:
        connection.execute(old_scores.insert(), kept)
    for submission_id, result in connection.execute(sa.select(submissions.c.id, submissions.c.result)
                                                    .where(submissions.c.result.is_not(None))):
        connection.execute(submissions.update().where(submissions.c.id == submission_id).values(
            max_score=result.get('max_score', 0.0) + result.get('pending_max_score', 0.0)))

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answers_user_id'))
    op.drop_table('answers')
