"""initial schema

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-24 23:05:17.116566
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import conversation.models

revision: str = '0001_initial'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('avatar_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_type', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('subject_type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('avatar_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_phone'), ['phone'], unique=False)

    op.create_table('inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('secrets', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_kind'), ['kind'], unique=False)

    op.create_table('integration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('secrets', sa.Text(), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('processed_webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('received_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'external_id', name='uq_processed_webhook')
    )
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_agent_id'), ['agent_id'], unique=False)

    op.create_table('canned_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('short_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('short_code')
    )
    op.create_table('conversation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('snoozed_until', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ref_token', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('channels', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('unread_count', sa.Integer(), nullable=False),
    sa.Column('message_count', sa.Integer(), nullable=False),
    sa.Column('waiting_since', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_message_id', sa.Integer(), nullable=True),
    sa.Column('last_message_text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('last_message_direction', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('last_message_channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('last_message_author_type', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('bot_state', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ref_token')
    )
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_assignee_status_activity', ['assignee_id', 'status', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_conversation_customer_activity', ['customer_id', 'last_activity_at'], unique=False)
        batch_op.create_index('ix_conversation_inbox_status_activity', ['inbox_id', 'status', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_conversation_status_activity', ['status', 'last_activity_at', 'id'], unique=False)

    op.create_table('identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('extra', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel_kind', 'address', name='uq_identity_channel_address')
    )
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_phone'), ['phone'], unique=False)

    op.create_table('inbox_member',
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inbox_id', 'agent_id')
    )
    with op.batch_alter_table('inbox_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_member_agent_id'), ['agent_id'], unique=False)

    op.create_table('inbox_state',
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inbox_id', 'key')
    )
    op.create_table('merge_suggestion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('other_customer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['other_customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id', 'other_customer_id', name='uq_merge_suggestion_pair')
    )
    with op.batch_alter_table('merge_suggestion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merge_suggestion_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_merge_suggestion_other_customer_id'), ['other_customer_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('store', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('subtotal', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('shipping_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('billing_address', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('fulfillments', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('fulfillment_status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('tracking_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('tracking_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('eta', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('placed_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source_updated_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer_placed', ['customer_id', 'placed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_phone'), ['phone'], unique=False)

    op.create_table('team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'agent_id')
    )
    op.create_table('conversation_tag',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'tag')
    )
    with op.batch_alter_table('conversation_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_tag_tag'), ['tag'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('author_type', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('identity_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('full_text', sa.Text(), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('external_thread_ref', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('in_reply_to', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('edited_at', conversation.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['identity_id'], ['identity.id'], ),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inbox_id', 'external_id', name='uq_message_inbox_external')
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_conversation_id', ['conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_message_status_next_attempt', ['status', 'next_attempt_at'], unique=False)

    op.create_table('order_status_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('changed_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('order_status_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_status_change_order_id'), ['order_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('source_ref', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('content_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('inline', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', conversation.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_message_id'), ['message_id'], unique=False)


    _create_full_text_search()


_PG_FTS = [
    # 'simple' keeps every language searchable (no stemming for one language at the others' expense).
    "ALTER TABLE message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', coalesce(subject, '') || ' ' || coalesce(text, ''))) STORED",
    "CREATE INDEX ix_message_search ON message USING GIN (search_vector)",
]

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(text, subject, content='message', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER message_fts_ai AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, text, subject) VALUES (new.id, new.text, new.subject); END",
    "CREATE TRIGGER message_fts_ad AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text, subject) VALUES ('delete', old.id, old.text, old.subject); END",
    "CREATE TRIGGER message_fts_au AFTER UPDATE OF text, subject ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text, subject) VALUES ('delete', old.id, old.text, old.subject); "
    "INSERT INTO message_fts(rowid, text, subject) VALUES (new.id, new.text, new.subject); END",
]


def _create_full_text_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _PG_FTS if dialect == "postgresql" else _SQLITE_FTS if dialect == "sqlite" else []:
        op.execute(statement)

def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("message_fts_ai", "message_fts_ad", "message_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_fts")
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_message_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('order_status_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_status_change_order_id'))

    op.drop_table('order_status_change')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_status_next_attempt')
        batch_op.drop_index('ix_message_conversation_id')

    op.drop_table('message')
    with op.batch_alter_table('conversation_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_tag_tag'))

    op.drop_table('conversation_tag')
    op.drop_table('team_member')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_phone'))
        batch_op.drop_index(batch_op.f('ix_orders_email'))
        batch_op.drop_index('ix_orders_customer_placed')

    op.drop_table('orders')
    with op.batch_alter_table('merge_suggestion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merge_suggestion_other_customer_id'))
        batch_op.drop_index(batch_op.f('ix_merge_suggestion_customer_id'))

    op.drop_table('merge_suggestion')
    op.drop_table('inbox_state')
    with op.batch_alter_table('inbox_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_member_agent_id'))

    op.drop_table('inbox_member')
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_phone'))
        batch_op.drop_index(batch_op.f('ix_identity_email'))
        batch_op.drop_index(batch_op.f('ix_identity_customer_id'))

    op.drop_table('identity')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_status_activity')
        batch_op.drop_index('ix_conversation_inbox_status_activity')
        batch_op.drop_index('ix_conversation_customer_activity')
        batch_op.drop_index('ix_conversation_assignee_status_activity')

    op.drop_table('conversation')
    op.drop_table('canned_response')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_agent_id'))

    op.drop_table('api_token')
    op.drop_table('team')
    op.drop_table('processed_webhook')
    op.drop_table('integration')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_kind'))

    op.drop_table('inbox')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_phone'))
        batch_op.drop_index(batch_op.f('ix_customer_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_customer_email'))

    op.drop_table('customer')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    op.drop_table('agent')
