-- Files and voice clips attached to chat messages (sync-server/src/chat/
-- files.rs): the id a device made for the file, which a message names,
-- among its sender's (another member cannot put their bytes under an id
-- they read in someone's message); the channel it was sent to, whose
-- readers may fetch it; its bytes in the blob store by their hash.
CREATE TABLE chat_files (
    id           text NOT NULL CONSTRAINT chat_files_id_shape CHECK (id ~ '^[0-9a-f]{32}$'),
    channel_id   text NOT NULL REFERENCES channels (doc_id),
    sha256       text NOT NULL CONSTRAINT chat_files_sha256_shape CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name         text NOT NULL CONSTRAINT chat_files_name_shape CHECK (length(name) BETWEEN 1 AND 120),
    content_type text NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes > 0),
    uploaded_by  text NOT NULL REFERENCES accounts (id),
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (uploaded_by, id)
);
CREATE INDEX chat_files_channel ON chat_files (channel_id);

-- Who an admin removed from a topic channel: they do not join it again
-- by themselves (an admin adds them back by making the channel anew).
CREATE TABLE channel_removals (
    doc_id     text NOT NULL REFERENCES channels (doc_id),
    account_id text NOT NULL REFERENCES accounts (id),
    removed_by text NOT NULL REFERENCES accounts (id),
    removed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (doc_id, account_id)
);
