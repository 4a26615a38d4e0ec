"""channels: widget feedback, Telegram outbox (leases: 0004)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_feedback',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('message_key', sa.String(length=80), nullable=True),
    sa.Column('language', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'message_id', 'kind')
    )
    with op.batch_alter_table('chat_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_feedback_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_feedback_message_key'), ['message_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_feedback_created_at'), ['created_at'], unique=False)
    op.create_table('channel_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('chat_ref', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('channel_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_outbox_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_outbox_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_channel_outbox_status'))
    op.drop_table('channel_outbox')
    with op.batch_alter_table('chat_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_chat_feedback_message_key'))
        batch_op.drop_index(batch_op.f('ix_chat_feedback_conversation_id'))
    op.drop_table('chat_feedback')
