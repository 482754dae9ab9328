-- Moderation and older history (sync-server/src/chat/moderation.rs): a
-- message an admin removed says who did (the messages document says it
-- too, in a map only the server writes); a message's file is projected so
-- the history shows its card.
ALTER TABLE chat_messages ADD COLUMN removed_by text REFERENCES accounts (id);
ALTER TABLE chat_messages ADD COLUMN file jsonb;
