"""merge the channel, content and outcome branches into one head

Revision ID: 0008
Revises: 0005, 0006, 0007
"""

revision = '0008'
down_revision = ('0005', '0006', '0007')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
