-- A month's messages document is split early once it holds a few
-- thousand messages (sync-server/src/chat/channels.rs): its count is
-- asked of the projection by document.
CREATE INDEX chat_messages_by_doc ON chat_messages (doc_id);
