-- When each chunk was written, for the pass that finds documents stored but
-- perhaps never projected (a node died between the two;
-- `platform/cluster.rs`'s `rescan`). BRIN rather than a B-tree: chunks are
-- written in time order and rarely rewritten, so a block range summary
-- answers "written since" well, and it costs the storage's hot write path
-- next to nothing.
CREATE INDEX doc_chunks_by_time ON doc_chunks USING brin (written_at);
