-- Team collaboration (sync-server/src/chat/). A channel is an index
-- document the server writes (`channel`) and message documents, one per
-- channel and period (`messages`), which members write, every change
-- checked by the server (platform/shared_writes.rs).
ALTER TABLE documents DROP CONSTRAINT documents_kind_known;
ALTER TABLE documents ADD CONSTRAINT documents_kind_known
    CHECK (kind IN ('pipeline', 'training', 'note', 'account_view', 'catalog', 'channel', 'inbox', 'messages', 'reads'));
-- Each partner's read markers (`reads`), written on their devices: one each.
DROP INDEX documents_one_per_kind_and_owner;
CREATE UNIQUE INDEX documents_one_per_kind_and_owner ON documents (kind, owner_id)
    WHERE kind IN ('pipeline', 'training', 'account_view', 'inbox', 'reads');
ALTER TABLE documents DROP CONSTRAINT documents_owned_kinds_have_owner;
ALTER TABLE documents ADD CONSTRAINT documents_owned_kinds_have_owner
    CHECK ((kind IN ('catalog', 'channel', 'messages')) = (owner_id IS NULL));

-- Channels, by their index document. `form` decides who posts: every
-- member of a team, topic or direct channel; admins only in the
-- programme's announcements, which every approved account reads without
-- being listed in `channel_members`.
CREATE TABLE channels (
    doc_id         text PRIMARY KEY REFERENCES documents (doc_id),
    form           text NOT NULL
        CONSTRAINT channels_form_known CHECK (form IN ('team', 'announcements', 'topic', 'direct')),
    name           text NOT NULL CONSTRAINT channels_name_shape CHECK (length(name) BETWEEN 1 AND 80),
    -- A team's channel: its leader.
    team_leader_id text REFERENCES accounts (id),
    created_by     text REFERENCES accounts (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT channels_team_has_leader CHECK ((form = 'team') = (team_leader_id IS NOT NULL))
);
CREATE UNIQUE INDEX channels_one_per_team ON channels (team_leader_id) WHERE form = 'team';
CREATE UNIQUE INDEX channels_one_announcements ON channels ((form)) WHERE form = 'announcements';

-- A channel's message documents, one per period (`2026-12`; a period
-- split early is `2026-12.2`).
CREATE TABLE channel_buckets (
    doc_id     text PRIMARY KEY REFERENCES documents (doc_id),
    channel_id text NOT NULL REFERENCES channels (doc_id),
    period     text NOT NULL CONSTRAINT channel_buckets_period_shape
        CHECK (period ~ '^[0-9]{4}-[0-9]{2}(\.[0-9]+)?$'),
    opened_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, period)
);

-- The index document lags what these tables say until the chat worker
-- writes it: set when members or message documents change.
ALTER TABLE channels ADD COLUMN index_stale boolean NOT NULL DEFAULT true;
