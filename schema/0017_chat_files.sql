-- Files and voice clips attached to chat messages (sync-server/src/chat/
-- files.rs): the id a device made for the file, which a message names;
-- the channel it was sent to, whose readers may fetch it; its bytes in
-- the blob store by their hash.
CREATE TABLE chat_files (
    id           text PRIMARY KEY CONSTRAINT chat_files_id_shape CHECK (id ~ '^[0-9a-f]{32}$'),
    channel_id   text NOT NULL REFERENCES channels (doc_id),
    sha256       text NOT NULL CONSTRAINT chat_files_sha256_shape CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name         text NOT NULL CONSTRAINT chat_files_name_shape CHECK (length(name) BETWEEN 1 AND 120),
    content_type text NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes > 0),
    uploaded_by  text NOT NULL REFERENCES accounts (id),
    uploaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_files_channel ON chat_files (channel_id);
