-- How many messages each messages document held when last projected: the
-- chat's worker splits a month's document on it without counting rows.
-- Every document is projected again at start (the `file` and `removed_by`
-- columns of 0018, and this count, are filled in for those projected
-- before them).
ALTER TABLE chat_projected ADD COLUMN messages integer NOT NULL DEFAULT 0;
DELETE FROM chat_projected;
