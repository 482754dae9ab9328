-- Who may read and write which document: the share policy on `/sync` reads
-- a document's kind and owner from here (see sync-server/src/policy.rs).
--
-- Kinds: a partner's `pipeline`, `training` and `note` documents are theirs
-- (a team leader reads their team's pipeline and training); `account_view`
-- is written by the server for its partner, who only reads it; a `catalog`
-- belongs to nobody and every signed-in account reads it; a `channel` is
-- written by its members, change by change checked by the server.
ALTER TABLE documents DROP CONSTRAINT documents_kind_known;
ALTER TABLE documents ADD CONSTRAINT documents_kind_known
    CHECK (kind IN ('pipeline', 'training', 'note', 'account_view', 'catalog', 'channel'));
ALTER TABLE documents ALTER COLUMN owner_id DROP NOT NULL;
ALTER TABLE documents ADD CONSTRAINT documents_owned_kinds_have_owner
    CHECK ((kind IN ('catalog', 'channel')) = (owner_id IS NULL));
-- One pipeline, one training record, one account view per partner; notes
-- are as many as the partner makes.
ALTER TABLE documents DROP CONSTRAINT documents_one_per_kind_and_owner;
CREATE UNIQUE INDEX documents_one_per_kind_and_owner ON documents (kind, owner_id)
    WHERE kind IN ('pipeline', 'training', 'account_view');

CREATE TABLE channel_members (
    doc_id     text NOT NULL REFERENCES documents (doc_id),
    account_id text NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (doc_id, account_id)
);
CREATE INDEX channel_members_by_account ON channel_members (account_id);

-- Automerge actor ids and whom they write for. A change to a shared
-- document is accepted only from an actor registered to the account that
-- sends it; an actor seen for the first time is registered to its sender,
-- and the server registers its own actors (account_id NULL) when it creates
-- a shared document, so an actor already in a document can never be claimed.
CREATE TABLE actors (
    actor         bytea PRIMARY KEY,
    account_id    text REFERENCES accounts (id),
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX actors_by_account ON actors (account_id);
