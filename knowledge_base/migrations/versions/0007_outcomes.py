"""outcomes: service links opened through the click-through route

Revision ID: 0007
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_clicks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('service_id', sa.String(length=80), nullable=False),
    sa.Column('link_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('service_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_clicks_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_clicks_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_clicks_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_clicks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_clicks_created_at'))
        batch_op.drop_index(batch_op.f('ix_service_clicks_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_clicks_conversation_id'))
    op.drop_table('service_clicks')
