"""catalogue

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organisations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('services',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('source_id', sa.String(length=80), nullable=False),
    sa.Column('source_url', sa.String(length=500), nullable=True),
    sa.Column('licence', sa.String(length=60), nullable=False),
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('area_type', sa.String(length=20), nullable=False),
    sa.Column('municipality_code', sa.String(length=3), nullable=True),
    sa.Column('general_description_id', sa.String(length=80), nullable=True),
    sa.Column('target_groups', sa.JSON(), nullable=False),
    sa.Column('life_events', sa.JSON(), nullable=False),
    sa.Column('service_classes', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('extracted_age_min', sa.Integer(), nullable=True),
    sa.Column('extracted_age_max', sa.Integer(), nullable=True),
    sa.Column('extracted_immigrants', sa.Boolean(), nullable=False),
    sa.Column('extracted_employment_statuses', sa.JSON(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_changed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_municipality_code'), ['municipality_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_status'), ['status'], unique=False)

    op.create_table('service_texts',
    sa.Column('service_id', sa.String(length=80), nullable=False),
    sa.Column('language', sa.String(length=3), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('synonyms', sa.Text(), nullable=False),
    sa.Column('internal_instructions', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', 'language')
    )


def downgrade() -> None:
    op.drop_table('service_texts')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_status'))
        batch_op.drop_index(batch_op.f('ix_services_municipality_code'))

    op.drop_table('services')
    op.drop_table('organisations')
