//! What one inbound sync message may expand to, measured before anything
//! expands it.
//!
//! The `data` of a `sync` message is an Automerge sync message whose
//! changes are chunks of Automerge's storage format. A chunk can be far
//! larger once read than on the wire, in three ways:
//!
//! - a compressed change (chunk type 2) is DEFLATE: about 1,000 times its
//!   size once inflated;
//! - the columns of a document or bundle chunk may each be DEFLATE too;
//! - every column is run-length encoded: a run of 2^40 identical values
//!   takes a dozen bytes, and a decoder that materializes the rows (the
//!   bundle decoder collects a delta column into a `Vec<i64>`; loading
//!   builds ops) allocates for each one.
//!
//! Automerge inflates and expands with no bound, so this module walks the
//! same bytes without materializing anything: it inflates through a reader
//! that stops at the remaining byte budget, and counts the rows of every
//! column by reading its run lengths. A message is admitted only if all of
//! it fits [`Limits`]: inflated bytes, changes, and rows of the widest
//! column (the operations). The bloom filter of the `have` section is
//! checked too: its probe count is an allocation per hash when the server
//! answers.
//!
//! Automerge also allocates for what chunk headers list (actors, columns)
//! and for what a document's columns say (one changes' dependencies by
//! index, checked only after indexing with them): header lists are bounded
//! and charged to the bytes, and a whole-document chunk, once known to be
//! within the limits, is loaded here once, where a failure or a panic
//! refuses the message instead of reaching samod. Bundle chunks, which the
//! sync protocol never sends, are refused. Anything the walker cannot read
//! is refused.
//!
//! Written here because no crate measures Automerge's format without
//! decoding it (the crate's own parsers are what expand). Sans-IO: bytes
//! in, a verdict out.

use std::io::Read;

/// How far one sync message may expand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of all its chunks once inflated.
    pub bytes: usize,
    /// Changes it carries (a document or bundle chunk counts each change
    /// it holds).
    pub changes: u64,
    /// Operations: the rows of the widest column of each chunk, summed.
    pub ops: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // What the largest real message needs (see
        // `the_largest_real_messages_fit`: 812 KiB inflated, 4,001 changes,
        // 314,004 ops), with room. Operations are what costs memory (about
        // 540 bytes each while the server applies, stores and projects
        // them: `hostile::socket::the_largest_admitted_message_has_a_bounded_cost`),
        // so they have the least. A document sent whole repeats its whole
        // history, every edit a change, so changes have the most.
        Limits {
            bytes: 8 * 1024 * 1024,
            changes: 100_000,
            ops: 500_000,
        }
    }
}

/// What a message was measured to expand to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expansion {
    pub bytes: usize,
    pub changes: u64,
    pub ops: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("`data` is not an Automerge sync message: {0}")]
    Malformed(&'static str),
    #[error("the message expands past the server's limit on {what} ({limit})")]
    TooLarge { what: &'static str, limit: u64 },
}

/// Bloom filters as Automerge makes them use 10 bits per entry and 7
/// probes; the probes are allocated per hash the server tests.
const MAX_BLOOM_PROBES: u32 = 32;
const MAX_BLOOM_BITS_PER_ENTRY: u32 = 64;
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Measures the Automerge sync message `data` against `limits`.
pub fn measure(data: &[u8], limits: &Limits) -> Result<Expansion, Refused> {
    let mut r = Bytes(data);
    match r.byte()? {
        // V1 and V2 of the sync message.
        0x42 | 0x43 => {}
        _ => return Err(Refused::Malformed("unknown sync message version")),
    }
    // heads, need
    for _ in 0..2 {
        let n = r.uleb()?;
        for _ in 0..n {
            r.take(32)?;
        }
    }
    // Automerge sends none or one; each is tested against every change the
    // server has, every time it answers.
    let haves = r.uleb()?;
    if haves > 1 {
        return Err(Refused::Malformed("more than one `have`"));
    }
    for _ in 0..haves {
        let last_sync = r.uleb()?;
        for _ in 0..last_sync {
            r.take(32)?;
        }
        let len = r.len()?;
        check_bloom(r.take(len)?)?;
    }
    let mut budget = Budget {
        limits: *limits,
        used: Expansion::default(),
    };
    let entries = r.uleb()?;
    for _ in 0..entries {
        let len = r.len()?;
        let mut chunks = Bytes(r.take(len)?);
        while !chunks.0.is_empty() {
            measure_chunk(&mut chunks, &mut budget)?;
        }
    }
    if !r.0.is_empty() {
        let len = r.len()?;
        r.take(len)?;
    }
    if !r.0.is_empty() {
        return Err(Refused::Malformed("trailing bytes"));
    }
    Ok(budget.used)
}

fn check_bloom(bytes: &[u8]) -> Result<(), Refused> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Bytes(bytes);
    let entries = r.uleb_u32()?;
    let bits_per_entry = r.uleb_u32()?;
    let probes = r.uleb_u32()?;
    // An empty filter is never probed. A filter with entries must have
    // bits to probe: with none, Automerge divides by zero.
    if entries > 0
        && !((1..=MAX_BLOOM_BITS_PER_ENTRY).contains(&bits_per_entry)
            && (1..=MAX_BLOOM_PROBES).contains(&probes))
    {
        return Err(Refused::Malformed("bloom filter out of range"));
    }
    let bits = (u64::from(entries) * u64::from(bits_per_entry)).div_ceil(8);
    if bits > r.0.len() as u64 {
        return Err(Refused::Malformed("bloom filter cut short"));
    }
    Ok(())
}

struct Budget {
    limits: Limits,
    used: Expansion,
}

impl Budget {
    fn bytes(&mut self, n: usize) -> Result<(), Refused> {
        self.used.bytes = self.used.bytes.saturating_add(n);
        if self.used.bytes > self.limits.bytes {
            return Err(Refused::TooLarge {
                what: "inflated bytes",
                limit: self.limits.bytes as u64,
            });
        }
        Ok(())
    }

    fn changes(&mut self, n: u64) -> Result<(), Refused> {
        self.used.changes = self.used.changes.saturating_add(n);
        if self.used.changes > self.limits.changes {
            return Err(Refused::TooLarge {
                what: "changes",
                limit: self.limits.changes,
            });
        }
        Ok(())
    }

    /// Rows a column may still have before the message passes its ops.
    fn rows_left(&self) -> u64 {
        self.limits.ops.saturating_sub(self.used.ops)
    }

    fn ops(&mut self, n: u64) -> Result<(), Refused> {
        self.used.ops = self.used.ops.saturating_add(n);
        if self.used.ops > self.limits.ops {
            return Err(self.too_many_ops());
        }
        Ok(())
    }

    fn too_many_ops(&self) -> Refused {
        Refused::TooLarge {
            what: "operations",
            limit: self.limits.ops,
        }
    }

    /// Inflates `compressed`, refusing it as soon as it passes the bytes
    /// left: never more than that is allocated.
    fn inflate(&mut self, compressed: &[u8]) -> Result<Vec<u8>, Refused> {
        let left = self.limits.bytes.saturating_sub(self.used.bytes);
        let mut out = Vec::new();
        flate2::bufread::DeflateDecoder::new(compressed)
            .take(left as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| Refused::Malformed("bad DEFLATE data"))?;
        self.bytes(out.len())?;
        Ok(out)
    }
}

/// Chunk types of Automerge's storage format.
pub(crate) const DOCUMENT: u8 = 0;
pub(crate) const CHANGE: u8 = 1;
pub(crate) const COMPRESSED_CHANGE: u8 = 2;
pub(crate) const BUNDLE: u8 = 3;

/// One chunk: `magic (4) | checksum (4) | type (1) | uLEB128 length | data`.
pub(crate) struct Chunk<'a> {
    pub kind: u8,
    pub checksum: [u8; 4],
    pub data: &'a [u8],
    /// Header and data, as Automerge's own decoders want it.
    pub bytes: &'a [u8],
}

/// The first chunk of `input`, and what follows it. A message entry may
/// hold several chunks one after another; Automerge's decoders each take
/// one whole chunk.
pub(crate) fn split_chunk(input: &[u8]) -> Result<(Chunk<'_>, &[u8]), Refused> {
    let mut r = Bytes(input);
    if r.take(4)? != MAGIC {
        return Err(Refused::Malformed("bad chunk magic"));
    }
    let checksum = r.take(4)?.try_into().expect("four bytes");
    let kind = r.byte()?;
    let len = r.len()?;
    let data = r.take(len)?;
    let end = input.len() - r.0.len();
    let chunk = Chunk {
        kind,
        checksum,
        data,
        bytes: &input[..end],
    };
    Ok((chunk, r.0))
}

/// One chunk: `magic (4) | checksum (4) | type (1) | uLEB128 length | data`.
fn measure_chunk(input: &mut Bytes<'_>, budget: &mut Budget) -> Result<(), Refused> {
    let (chunk, rest) = split_chunk(input.0)?;
    input.0 = rest;
    let (kind, data, whole) = (chunk.kind, chunk.data, chunk.bytes);
    budget.bytes(data.len())?;
    match kind {
        CHANGE => change_body(data, budget),
        COMPRESSED_CHANGE => {
            let inflated = budget.inflate(data)?;
            change_body(&inflated, budget)
        }
        DOCUMENT => {
            let mut r = Bytes(data);
            actors(&mut r, budget)?;
            let heads = r.uleb()?;
            for _ in 0..heads {
                r.take(32)?;
            }
            let change_cols = columns(&mut r, budget)?;
            let op_cols = columns(&mut r, budget)?;
            let change_rows = column_data(&mut r, &change_cols, budget)?;
            budget.changes(change_rows)?;
            // A document keeps a delete as a successor of the op it
            // deletes; loading rebuilds it as an op of its own. So its ops
            // are its rows plus its successors (the rows of the successor
            // actor column, id 8).
            let mut successors = 0;
            let op_rows = column_data_with(&mut r, &op_cols, budget, |col, rows| {
                if col.spec == SUCCESSOR_ACTORS {
                    successors = rows;
                }
            })?;
            budget.ops(op_rows.saturating_add(successors))?;
            // The head indices follow, one uLEB each. What the columns say
            // (which change a dependency index names, which actor an op's)
            // is only checked by loading, and Automerge indexes with them
            // before checking (a dependency past the last change panics):
            // now that the document is known to be small enough, it is
            // loaded once here, where a panic refuses the message instead
            // of taking down the document's task in samod.
            document_loads(whole)
        }
        // The sync protocol sends changes or a whole document, never a
        // bundle (whose decoder sizes its buffers from values it reads).
        BUNDLE => Err(Refused::Malformed("bundle chunks are not part of sync")),
        _ => Err(Refused::Malformed("unknown chunk type")),
    }
}

/// A change: deps, actor, seq, start op, time, message, other actors, then
/// its op columns (never compressed: Automerge refuses those).
fn change_body(data: &[u8], budget: &mut Budget) -> Result<(), Refused> {
    budget.changes(1)?;
    let mut r = Bytes(data);
    let deps = r.uleb()?;
    for _ in 0..deps {
        r.take(32)?;
    }
    let actor = r.len()?;
    r.take(actor)?;
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.sleb()?; // time
    let message = r.len()?;
    r.take(message)?;
    actors(&mut r, budget)?;
    let cols = columns(&mut r, budget)?;
    if cols.iter().any(|c| c.deflate) {
        return Err(Refused::Malformed("compressed columns in a change"));
    }
    let rows = column_data(&mut r, &cols, budget)?;
    budget.ops(rows)
}

/// Actors a chunk may list: a document lists every device that ever wrote
/// it, a team channel's members' too.
const MAX_ACTORS: u64 = 10_000;
/// Columns a chunk's set may have: Automerge writes at most a dozen.
const MAX_COLUMNS: u64 = 64;
/// What Automerge allocates for each actor and column it reads, beyond
/// their bytes (an empty actor takes one byte on the wire and an `ActorId`
/// in memory): charged to the bytes budget.
const ENTRY_COST: usize = 64;

/// A list of actor ids: a count, then length-prefixed bytes.
fn actors(r: &mut Bytes<'_>, budget: &mut Budget) -> Result<(), Refused> {
    let n = r.uleb()?;
    if n > MAX_ACTORS {
        return Err(Refused::Malformed("too many actors"));
    }
    budget.bytes(n as usize * ENTRY_COST)?;
    for _ in 0..n {
        let len = r.len()?;
        r.take(len)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Column {
    /// The spec without its DEFLATE bit: id and type.
    spec: u32,
    kind: u8,
    deflate: bool,
    len: usize,
}

/// Column metadata: a count, then (spec, length) pairs, in Automerge's
/// normal order (by id, then type), each column once.
fn columns(r: &mut Bytes<'_>, budget: &mut Budget) -> Result<Vec<Column>, Refused> {
    let n = r.uleb()?;
    if n > MAX_COLUMNS {
        return Err(Refused::Malformed("too many columns"));
    }
    budget.bytes(n as usize * ENTRY_COST)?;
    let mut cols = Vec::with_capacity(n as usize);
    let mut last = None;
    for _ in 0..n {
        let spec = r.uleb_u32()?;
        let len = r.len()?;
        let normal = spec & !0x08;
        if last.is_some_and(|last| normal <= last) {
            return Err(Refused::Malformed("columns out of order"));
        }
        last = Some(normal);
        cols.push(Column {
            spec: normal,
            kind: (spec & 0x07) as u8,
            deflate: spec & 0x08 != 0,
            len,
        });
    }
    Ok(cols)
}

/// Whether a whole-document chunk loads, with Automerge's own checks (the
/// checksum, the heads the changes rebuild to); a panic in Automerge is a
/// refusal.
fn document_loads(chunk: &[u8]) -> Result<(), Refused> {
    use automerge::{Automerge, LoadOptions, OnPartialLoad, VerificationMode};
    let load = || {
        Automerge::load_with_options(
            chunk,
            LoadOptions::new()
                .on_partial_load(OnPartialLoad::Error)
                .verification_mode(VerificationMode::Check),
        )
    };
    match std::panic::catch_unwind(load) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(_)) => Err(Refused::Malformed("a document chunk that does not load")),
        Err(_) => Err(Refused::Malformed(
            "a document chunk that breaks the loader",
        )),
    }
}

/// The successor actor column of a document's ops: id 8, actor type.
const SUCCESSOR_ACTORS: u32 = 8 << 4 | 1;

/// Reads the columns' data, inflating those that are compressed, and
/// returns the rows of the widest one.
fn column_data(r: &mut Bytes<'_>, cols: &[Column], budget: &mut Budget) -> Result<u64, Refused> {
    column_data_with(r, cols, budget, |_, _| {})
}

/// [`column_data`], telling `each` the rows of every column.
fn column_data_with(
    r: &mut Bytes<'_>,
    cols: &[Column],
    budget: &mut Budget,
    mut each: impl FnMut(&Column, u64),
) -> Result<u64, Refused> {
    let mut widest = 0;
    for col in cols {
        let raw = r.take(col.len)?;
        let rows = if col.deflate {
            let inflated = budget.inflate(raw)?;
            rows(col.kind, &inflated, budget)?
        } else {
            rows(col.kind, raw, budget)?
        };
        each(col, rows);
        widest = widest.max(rows);
    }
    Ok(widest)
}

/// Column types of Automerge's storage format.
const GROUP: u8 = 0;
const ACTOR: u8 = 1;
const INTEGER: u8 = 2;
const DELTA: u8 = 3;
const BOOLEAN: u8 = 4;
const STRING: u8 = 5;
const VALUE_META: u8 = 6;
const VALUE: u8 = 7;

/// The rows a column decodes to, counted from its run lengths without
/// decoding them, stopping as soon as the message's ops are exceeded.
fn rows(kind: u8, data: &[u8], budget: &Budget) -> Result<u64, Refused> {
    let cap = budget.rows_left();
    let mut r = Bytes(data);
    let mut rows = 0u64;
    let mut add = |n: u64| {
        rows = rows.saturating_add(n);
        if rows > cap {
            Err(budget.too_many_ops())
        } else {
            Ok(())
        }
    };
    match kind {
        // Raw bytes: their length is already counted as bytes.
        VALUE => {}
        // Alternating runs of false and true.
        BOOLEAN => {
            while !r.0.is_empty() {
                add(r.uleb()?)?;
            }
        }
        GROUP | ACTOR | INTEGER | DELTA | STRING | VALUE_META => {
            let value = |r: &mut Bytes<'_>| -> Result<(), Refused> {
                match kind {
                    DELTA => r.sleb().map(drop),
                    STRING => {
                        let len = r.len()?;
                        r.take(len).map(drop)
                    }
                    _ => r.uleb().map(drop),
                }
            };
            // Run-length encoding: a positive count and one value repeated,
            // a negative count of literal values, or zero and a count of
            // nulls.
            while !r.0.is_empty() {
                let count = r.sleb()?;
                if count > 0 {
                    value(&mut r)?;
                    add(count.unsigned_abs())?;
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    // Each literal takes at least a byte: no loop longer
                    // than the column.
                    if n > r.0.len() as u64 {
                        return Err(Refused::Malformed("column cut short"));
                    }
                    for _ in 0..n {
                        value(&mut r)?;
                    }
                    add(n)?;
                } else {
                    add(r.uleb()?)?;
                }
            }
        }
        _ => unreachable!("a column type is three bits"),
    }
    Ok(rows)
}

/// Writes `n` as Automerge writes lengths and counts (unsigned LEB128):
/// for tests and tools that make what [`measure`] reads.
pub fn write_uleb128(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A reader over a byte slice that never reads past it.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> Result<u8, Refused> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or(Refused::Malformed("cut short"))?;
        self.0 = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Refused> {
        let (head, rest) = self
            .0
            .split_at_checked(n)
            .ok_or(Refused::Malformed("cut short"))?;
        self.0 = rest;
        Ok(head)
    }

    fn uleb(&mut self) -> Result<u64, Refused> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            value |= bits
                .checked_shl(7 * i)
                .filter(|v| v >> (7 * i) == bits)
                .ok_or(Refused::Malformed("integer overflow"))?;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Refused::Malformed("integer too long"))
    }

    fn uleb_u32(&mut self) -> Result<u32, Refused> {
        u32::try_from(self.uleb()?).map_err(|_| Refused::Malformed("integer overflow"))
    }

    /// A length of something that follows: never more than what is left.
    fn len(&mut self) -> Result<usize, Refused> {
        let n = self.uleb()?;
        if n > self.0.len() as u64 {
            return Err(Refused::Malformed("cut short"));
        }
        Ok(n as usize)
    }

    fn sleb(&mut self) -> Result<i64, Refused> {
        let mut value = 0i64;
        let mut shift = 0u32;
        loop {
            let byte = self.byte()?;
            if shift >= 64 {
                return Err(Refused::Malformed("integer too long"));
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use automerge::{
        AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue,
        sync::{self, SyncDoc},
        transaction::Transactable,
    };

    use super::*;

    /// The first sync message a device with `doc` sends to a server that has
    /// nothing.
    fn first_message(doc: &mut AutoCommit) -> Vec<u8> {
        let mut state = sync::State::new();
        let server = automerge::Automerge::new();
        let mut server_state = sync::State::new();
        // Let the server say what it has, so the device sends its changes.
        let hello = server
            .generate_sync_message(&mut server_state)
            .expect("server speaks first");
        doc.sync().receive_sync_message(&mut state, hello).unwrap();
        doc.sync()
            .generate_sync_message(&mut state)
            .expect("changes to send")
            .encode()
    }

    fn doc_with_list(len: usize) -> AutoCommit {
        let mut doc = AutoCommit::new();
        let list = doc.put_object(ROOT, "items", ObjType::List).unwrap();
        for i in 0..len {
            doc.insert(&list, i, ScalarValue::Null).unwrap();
        }
        doc.commit();
        doc
    }

    fn chunk(kind: u8, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([0; 4]);
        out.push(kind);
        leb128(&mut out, data.len() as u64);
        out.extend(data);
        out
    }

    use super::write_uleb128 as leb128;

    fn sleb128(out: &mut Vec<u8>, mut n: i64) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            let done = (n == 0 && byte & 0x40 == 0) || (n == -1 && byte & 0x40 != 0);
            out.push(if done { byte } else { byte | 0x80 });
            if done {
                return;
            }
        }
    }

    /// A sync message (V1, no heads, needs or haves) carrying `chunks`.
    fn message(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0x42, 0, 0, 0];
        leb128(&mut out, chunks.len() as u64);
        for c in chunks {
            leb128(&mut out, c.len() as u64);
            out.extend(c);
        }
        out
    }

    /// A change body with one actor column of `rows` rows, in a few bytes.
    fn change_with_run(rows: i64) -> Vec<u8> {
        let mut column = Vec::new();
        sleb128(&mut column, rows);
        leb128(&mut column, 0);
        let mut body = vec![0, 1, b'a', 1, 1, 0, 0, 0];
        body.push(1);
        leb128(&mut body, u64::from(ACTOR) | (1 << 4));
        leb128(&mut body, column.len() as u64);
        body.extend(column);
        body
    }

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn real_messages_are_measured_and_admitted() {
        let mut doc = doc_with_list(2_000);
        let data = first_message(&mut doc);
        assert!(automerge::sync::Message::decode(&data).is_ok());
        let measured = measure(&data, &Limits::default()).unwrap();
        assert_eq!(measured.changes, 1);
        // The list object and its 2,000 elements.
        assert_eq!(measured.ops, 2_001);
    }

    #[test]
    fn whole_documents_with_compressed_columns_are_measured() {
        let mut doc = doc_with_list(5_000);
        for i in 0..20 {
            doc.put(ROOT, format!("k{i}"), i).unwrap();
            doc.commit();
        }
        let saved = doc.save();
        let data = message(std::slice::from_ref(&saved));
        let measured = measure(&data, &Limits::default()).unwrap();
        assert_eq!(measured.changes, 21);
        assert_eq!(measured.ops, 5_021);
        // The same document is refused under a lower bound on operations.
        let tight = Limits {
            ops: 5_000,
            ..Limits::default()
        };
        assert!(Limits::default().ops > 5_021);
        assert!(matches!(
            measure(&data, &tight),
            Err(Refused::TooLarge {
                what: "operations",
                ..
            })
        ));
        let loaded = automerge::Automerge::load(&saved).unwrap();
        assert_eq!(loaded.get_changes(&[]).len(), 21);
    }

    #[test]
    fn a_deflate_bomb_is_refused_without_inflating_it() {
        // 64 MiB of zeros deflate to about 64 KiB.
        let bomb = deflate(&vec![0u8; 64 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        let data = message(&[chunk(COMPRESSED_CHANGE, &bomb)]);
        assert_eq!(
            measure(&data, &Limits::default()),
            Err(Refused::TooLarge {
                what: "inflated bytes",
                limit: 8 * 1024 * 1024
            })
        );
    }

    #[test]
    fn a_run_of_billions_of_rows_is_refused() {
        let data = message(&[chunk(CHANGE, &change_with_run(1 << 40))]);
        assert!(data.len() < 64);
        assert!(matches!(
            measure(&data, &Limits::default()),
            Err(Refused::TooLarge {
                what: "operations",
                ..
            })
        ));
        let fits = message(&[chunk(CHANGE, &change_with_run(1_000))]);
        assert_eq!(measure(&fits, &Limits::default()).unwrap().ops, 1_000);
    }

    #[test]
    fn many_small_changes_are_counted() {
        let one = chunk(CHANGE, &change_with_run(1));
        let data = message(&vec![one; 11]);
        let limits = Limits {
            changes: 10,
            ..Limits::default()
        };
        assert_eq!(
            measure(&data, &limits),
            Err(Refused::TooLarge {
                what: "changes",
                limit: 10
            })
        );
    }

    #[test]
    fn a_bloom_filter_with_absurd_probes_is_refused() {
        let mut bloom = Vec::new();
        leb128(&mut bloom, 1);
        leb128(&mut bloom, 8);
        leb128(&mut bloom, u64::from(u32::MAX));
        bloom.push(0xff);
        let mut data = vec![0x42, 0, 0, 1, 0];
        leb128(&mut data, bloom.len() as u64);
        data.extend(&bloom);
        data.push(0);
        // Automerge itself decodes it: the probes are allocated later,
        // for each hash the server tests.
        assert!(automerge::sync::Message::decode(&data).is_ok());
        assert_eq!(
            measure(&data, &Limits::default()),
            Err(Refused::Malformed("bloom filter out of range"))
        );
    }

    #[test]
    fn cut_and_garbage_input_is_refused_not_panicked() {
        let mut doc = doc_with_list(50);
        let data = first_message(&mut doc);
        for end in 0..data.len() {
            let _ = measure(&data[..end], &Limits::default());
        }
        assert!(measure(&[], &Limits::default()).is_err());
        assert!(measure(&[0x42, 0xff, 0xff, 0xff], &Limits::default()).is_err());
        let doc = doc.get_changes(&[]);
        assert_eq!(doc.len(), 1);
    }

    /// The largest message a real client sends is a first sync of a whole
    /// document made offline: the app and the reference client both send
    /// every change (or the document) at once. A pipeline of 1,000 leads,
    /// each with a 300-character note (every character an operation) and
    /// moved through three stages, is more than a field seller keeps; it
    /// must fit the default frame (`--max-sync-message-bytes`, 1 MiB) and
    /// expansion limits.
    #[test]
    fn the_largest_real_messages_fit() {
        use model::{Currency, LeadDraft, LeadId, Money, PartnerId, PipelineDoc, Stage, Timestamp};
        let mut doc = automerge::Automerge::new();
        PipelineDoc::init(&mut doc, &PartnerId::parse("p-big").unwrap()).unwrap();
        let usd = Currency::parse("USD").unwrap();
        let note = "Met at the trade fair; wants a quote for 40 seats, call back after the budget review in March. "
            .repeat(3);
        for i in 0..1_000 {
            let id = LeadId::parse(&format!("lead-{i}")).unwrap();
            let draft = LeadDraft::parse(
                &format!("Contact {i}"),
                &format!("Company {i} Ltd"),
                &format!("contact{i}@company{i}.example"),
                "+1 555 0100",
                Money::new(150_000 + i, usd),
                &note,
            )
            .unwrap();
            PipelineDoc::add_lead(&mut doc, &id, &draft, Timestamp(i)).unwrap();
            for (n, stage) in [Stage::Contacted, Stage::Qualified, Stage::Proposal]
                .into_iter()
                .enumerate()
            {
                PipelineDoc::move_lead(&mut doc, &id, stage, Timestamp(i + n as i64)).unwrap();
            }
        }
        let mut device = AutoCommit::load(&doc.save()).unwrap();
        let data = first_message(&mut device);
        let measured = measure(&data, &Limits::default()).unwrap();
        println!(
            "first sync of a 1,000-lead pipeline: {} KiB on the wire, {} KiB inflated, {} changes, {} ops",
            data.len() / 1024,
            measured.bytes / 1024,
            measured.changes,
            measured.ops
        );
        // The envelope around `data` takes well under 1 KiB.
        assert!(data.len() < 1024 * 1024 - 1024, "{} bytes", data.len());
    }

    #[test]
    fn lists_in_chunk_headers_are_bounded_and_charged() {
        // A compressed change whose body is a million empty "other actors":
        // a few KiB on the wire, an `ActorId` each once read.
        let mut body = vec![0, 1, b'a', 1, 1, 0, 0];
        leb128(&mut body, 1_000_000);
        body.extend(std::iter::repeat_n(0u8, 1_000_000));
        body.push(0);
        let data = message(&[chunk(COMPRESSED_CHANGE, &deflate(&body))]);
        assert!(data.len() < 8 * 1024);
        assert_eq!(
            measure(&data, &Limits::default()),
            Err(Refused::Malformed("too many actors"))
        );
        // A thousand actors fit, and are charged for.
        let mut body = vec![0, 1, b'a', 1, 1, 0, 0];
        leb128(&mut body, 1_000);
        body.extend(std::iter::repeat_n(0u8, 1_000));
        body.push(0);
        let measured = measure(&message(&[chunk(CHANGE, &body)]), &Limits::default()).unwrap();
        assert!(measured.bytes >= 1_000 * ENTRY_COST);
        // Columns: at most 64, each once, in order.
        for specs in [
            vec![0x11u32; 2],
            vec![0x21, 0x11],
            (0..65).map(|i| i << 4 | 1).collect(),
        ] {
            let mut body = vec![0, 1, b'a', 1, 1, 0, 0, 0];
            leb128(&mut body, specs.len() as u64);
            for spec in specs {
                leb128(&mut body, u64::from(spec));
                leb128(&mut body, 0);
            }
            assert!(measure(&message(&[chunk(CHANGE, &body)]), &Limits::default()).is_err());
        }
    }

    #[test]
    fn bloom_filters_automerge_cannot_probe_and_extra_haves_are_refused() {
        let with_haves = |haves: &[Vec<u8>]| {
            let mut data = vec![0x42, 0, 0];
            leb128(&mut data, haves.len() as u64);
            for bloom in haves {
                data.push(0);
                leb128(&mut data, bloom.len() as u64);
                data.extend(bloom);
            }
            data.push(0);
            data
        };
        let bloom = |entries: u64, bits: u64, probes: u64| {
            let mut b = Vec::new();
            leb128(&mut b, entries);
            leb128(&mut b, bits);
            leb128(&mut b, probes);
            b.extend(vec![0xff; (entries * bits).div_ceil(8) as usize]);
            b
        };
        let ok = bloom(3, 10, 7);
        assert!(measure(&with_haves(std::slice::from_ref(&ok)), &Limits::default()).is_ok());
        // Zero bits per entry: Automerge takes a modulo of zero.
        let zero = bloom(3, 0, 7);
        assert!(automerge::sync::Message::decode(&with_haves(std::slice::from_ref(&zero))).is_ok());
        assert!(measure(&with_haves(&[zero]), &Limits::default()).is_err());
        assert!(measure(&with_haves(&[bloom(3, 10, 0)]), &Limits::default()).is_err());
        assert_eq!(
            measure(&with_haves(&[ok.clone(), ok]), &Limits::default()),
            Err(Refused::Malformed("more than one `have`"))
        );
    }

    #[test]
    fn bundles_are_not_part_of_sync() {
        let data = message(&[chunk(BUNDLE, &[0, 0, 0, 0])]);
        assert_eq!(
            measure(&data, &Limits::default()),
            Err(Refused::Malformed("bundle chunks are not part of sync"))
        );
    }

    /// A document chunk whose change columns name a dependency past the
    /// last change: Automerge indexes with it before checking it.
    #[test]
    fn a_document_that_breaks_the_loader_is_refused() {
        use sha2::{Digest, Sha256};
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "a", 1).unwrap();
        doc.commit();
        doc.put(ROOT, "b", 2).unwrap();
        doc.commit();
        let saved = doc.save();
        assert!(measure(&message(std::slice::from_ref(&saved)), &Limits::default()).is_ok());
        // Find the dependency index column (id 4, delta: spec 0x43) and
        // make its one value 5.
        let mut r = Bytes(&saved[8..]);
        assert_eq!(r.byte().unwrap(), DOCUMENT);
        let len = r.len().unwrap();
        let data_start = saved.len() - r.0.len();
        let mut budget = Budget {
            limits: Limits::default(),
            used: Expansion::default(),
        };
        actors(&mut r, &mut budget).unwrap();
        let heads = r.uleb().unwrap();
        r.take(32 * heads as usize).unwrap();
        let mut specs = Vec::new();
        for _ in 0..2 {
            let n = r.uleb().unwrap();
            for _ in 0..n {
                specs.push((r.uleb_u32().unwrap(), r.len().unwrap()));
            }
        }
        let at = saved.len() - r.0.len();
        let offset: usize = specs
            .iter()
            .take_while(|(s, _)| *s != 0x43)
            .map(|(_, l)| l)
            .sum();
        let (_, deps_len) = specs.iter().find(|(s, _)| *s == 0x43).copied().unwrap();
        let mut broken = saved.clone();
        // A run of one: count 1, value 5 (a delta from 0).
        assert_eq!(deps_len, 2, "{specs:?}");
        broken[at + offset + 1] = 5;
        // With its checksum made right, so that only the index is wrong.
        let mut hasher = Sha256::new();
        hasher.update([DOCUMENT]);
        hasher.update(&broken[9..data_start]);
        hasher.update(&broken[data_start..data_start + len]);
        let hash = hasher.finalize();
        broken[4..8].copy_from_slice(&hash[..4]);
        assert_eq!(
            measure(&message(&[broken]), &Limits::default()),
            Err(Refused::Malformed(
                "a document chunk that breaks the loader"
            ))
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64, failure_persistence: None, ..Default::default()
        })]

        /// Whatever Automerge makes, the walker reads, and it counts at
        /// least the ops the changes rebuilt from it hold.
        #[test]
        fn the_walker_reads_what_automerge_writes(
            edits in proptest::collection::vec((0u8..4, 0usize..50, "[a-z]{0,8}"), 1..40)
        ) {
            let mut doc = AutoCommit::new();
            let text = doc.put_object(ROOT, "t", ObjType::Text).unwrap();
            for (what, at, s) in &edits {
                let len = doc.length(&text);
                match what {
                    0 => doc.splice_text(&text, at % (len + 1), 0, s).unwrap(),
                    1 if len > 0 => doc.splice_text(&text, at % len, 1, "").unwrap(),
                    2 => doc.put(ROOT, s.as_str(), *at as i64).unwrap(),
                    _ => { doc.commit(); }
                }
            }
            doc.commit();
            // Every op of every change, deletes included: loading rebuilds
            // them all.
            let kept: u64 = doc.get_changes(&[]).iter().map(|c| c.len() as u64).sum();
            // A first sync sends changes, or the whole document when they
            // are most of it.
            let data = first_message(&mut doc);
            let measured = measure(&data, &Limits::default()).unwrap();
            proptest::prop_assert!(measured.ops >= kept);
            let saved = message(&[doc.save()]);
            let measured = measure(&saved, &Limits::default()).unwrap();
            proptest::prop_assert!(measured.ops >= kept);
        }
    }
}
