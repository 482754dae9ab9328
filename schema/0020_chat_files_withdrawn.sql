-- A file whose message was deleted by its author or removed by an admin
-- is served no more (sync-server/src/chat/files.rs, `withdraw`); its
-- bytes stay in the blob store, which is kept by content.
ALTER TABLE chat_files ADD COLUMN withdrawn_at timestamptz;
