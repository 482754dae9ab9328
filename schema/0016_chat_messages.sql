-- The chat's messages projected from their documents (chat/projection.rs):
-- what search, mentions and older history read. Rows follow the
-- documents: a message changed or deleted there is changed or marked
-- deleted here.
CREATE TABLE chat_messages (
    channel_id text NOT NULL REFERENCES channels (doc_id),
    id         text NOT NULL,
    doc_id     text NOT NULL REFERENCES documents (doc_id),
    author_id  text NOT NULL REFERENCES accounts (id),
    written_at timestamptz NOT NULL,
    body       text NOT NULL,
    reply_to   text,
    edited_at  timestamptz,
    gone       boolean NOT NULL DEFAULT false,
    search     tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
    PRIMARY KEY (channel_id, id)
);
CREATE INDEX chat_messages_search ON chat_messages USING gin (search);
CREATE INDEX chat_messages_by_time ON chat_messages (channel_id, written_at DESC, id DESC);

-- The heads of each messages document as last projected.
CREATE TABLE chat_projected (
    doc_id text PRIMARY KEY REFERENCES documents (doc_id),
    heads  text[] NOT NULL
);

-- A mention notifies the person named.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_known;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_known
    CHECK (kind IN ('deal_approved', 'deal_rejected', 'commission_available',
                    'payout_made', 'follow_up_due', 'training_assigned', 'exam_graded',
                    'chat_mention'));
ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_category_known;
ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_category_known
    CHECK (category IN ('deals', 'money', 'reminders', 'training', 'chat'));
-- A mention opens its channel or thread, whose ids are samod's (letters of
-- both cases) and a message's (with `_` between the two).
ALTER TABLE notifications DROP CONSTRAINT notifications_screen_is_a_hash;
ALTER TABLE notifications ADD CONSTRAINT notifications_screen_is_a_hash
    CHECK (screen ~ '^#[A-Za-z0-9_-]*$');
