-- When each chunk was written, for the pass that finds documents stored but
-- perhaps never projected (a node died between the two;
-- `platform/cluster.rs`'s `rescan`), which asks for the chunks written in
-- the last half minute or so. A B-tree, not BRIN: compaction deletes chunks
-- and later inserts reuse their space, so block ranges would come to span
-- all times and a BRIN index would decay to a scan of the table.
CREATE INDEX doc_chunks_by_time ON doc_chunks (written_at);
