"""escalation: the handover becomes the queue's ticket; counsellor profiles, internal
notes, canned replies, transfers, timer leases; organisations get kind, participation
and opening hours (seeded from knowledge_base/data/organisations.yml)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('holder', sa.String(length=80), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=3), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_replies_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('counsellor_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.String(length=64), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('municipalities', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('max_concurrent', sa.Integer(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('counsellor_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counsellor_profiles_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_counsellor_profiles_status'), ['status'], unique=False)

    op.create_table('handover_notes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('handover_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.String(length=64), nullable=True),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handover_id'], ['handovers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handover_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_notes_handover_id'), ['handover_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_notes_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('handover_transfers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('handover_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('from_organisation_id', sa.String(length=64), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('to_organisation_id', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handover_id'], ['handovers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('handover_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_transfers_handover_id'), ['handover_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_transfers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_transfers_to_organisation_id'), ['to_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handover_transfers_to_user_id'), ['to_user_id'], unique=False)

    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=False, server_default='web'))
        batch_op.add_column(sa.Column('topic', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('municipality', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('age', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('employment_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('organisation_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('assigned_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome_code', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('outcome_service_id', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('satisfaction', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offline', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('widened_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_handovers_assigned_user_id'), ['assigned_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_priority'), ['priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_updated_at'), ['updated_at'], unique=False)
        batch_op.create_foreign_key('fk_handovers_assigned_user_id_users', 'users', ['assigned_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_handovers_organisation_id_organisations', 'organisations', ['organisation_id'], ['id'])

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('participating', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('hours', sa.JSON(), nullable=True))

    # Existing rows: a ticket was last changed when it was made; an organisation has no hours yet.
    op.execute("UPDATE handovers SET updated_at = created_at WHERE updated_at IS NULL")
    op.execute("UPDATE organisations SET hours = '{}' WHERE hours IS NULL")
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.alter_column('hours', existing_type=sa.JSON(), nullable=False)



def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('hours')
        batch_op.drop_column('participating')
        batch_op.drop_column('kind')

    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_handovers_organisation_id_organisations', type_='foreignkey')
        batch_op.drop_constraint('fk_handovers_assigned_user_id_users', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_handovers_updated_at'))
        batch_op.drop_index(batch_op.f('ix_handovers_priority'))
        batch_op.drop_index(batch_op.f('ix_handovers_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_handovers_assigned_user_id'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('widened_at')
        batch_op.drop_column('offline')
        batch_op.drop_column('satisfaction')
        batch_op.drop_column('outcome_service_id')
        batch_op.drop_column('outcome_code')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('assigned_user_id')
        batch_op.drop_column('organisation_id')
        batch_op.drop_column('priority')
        batch_op.drop_column('employment_status')
        batch_op.drop_column('age')
        batch_op.drop_column('municipality')
        batch_op.drop_column('topic')
        batch_op.drop_column('channel')

    with op.batch_alter_table('handover_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_transfers_to_user_id'))
        batch_op.drop_index(batch_op.f('ix_handover_transfers_to_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_handover_transfers_status'))
        batch_op.drop_index(batch_op.f('ix_handover_transfers_handover_id'))

    op.drop_table('handover_transfers')
    with op.batch_alter_table('handover_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_notes_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_handover_notes_handover_id'))

    op.drop_table('handover_notes')
    with op.batch_alter_table('counsellor_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counsellor_profiles_status'))
        batch_op.drop_index(batch_op.f('ix_counsellor_profiles_organisation_id'))

    op.drop_table('counsellor_profiles')
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_replies_organisation_id'))

    op.drop_table('canned_replies')
    op.drop_table('leases')
