//! Files kept by their content: training media and PDFs now, shared
//! resources later. A blob's name is the SHA-256 of its bytes, so a file
//! is stored once whoever publishes it, a name can be cached forever, and
//! what a device downloaded can be checked against what was published.
//!
//! The bytes live in an `object_store` store: the filesystem under the
//! data directory by default, an in-memory one in tests, and any other
//! store `object_store` reaches (S3-compatible ones) by configuration.
//! `object_store` is the field's well-kept answer to "the same code over a
//! directory and a bucket"; it puts whole objects atomically (a temporary
//! file renamed, a multipart upload completed), which is what lets an
//! upload resume below.
//!
//! Uploads resume. A client declares the blob (its size and SHA-256) and
//! sends it in parts, each at the offset it says; each part is an object of
//! its own (`uploads/<upload>/<offset>`), so a part is stored whole or not
//! at all, and "how much was received" is the longest run of parts that
//! follow each other from 0. A connection cut mid-part loses that part
//! only; the client asks where to go on and sends from there. Finishing
//! hashes the parts in order, refuses bytes whose hash is not the declared
//! one, and copies them into the blob's own object (`blobs/<2 hex>/<hex>`).
//! Who may upload and who may read a blob is the product module's
//! business (the registry of blobs is its table); this file keeps bytes.

use std::{fmt, ops::Range, path::Path as FsPath, sync::Arc};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
    local::LocalFileSystem, memory::InMemory, path::Path,
};
use sha2::{Digest, Sha256};

/// A blob's name: the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; 32]);

impl BlobId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobId {
        BlobId(Sha256::digest(bytes).into())
    }

    /// 64 lower-case hex digits, and nothing else.
    pub fn parse(text: &str) -> Option<BlobId> {
        if text.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in text.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(BlobId(out))
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", self.hex())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    /// A part sent at another offset than where the upload stands.
    #[error("this upload has {received} bytes; send from there")]
    Offset { received: u64 },
    /// A part that would take the upload past its declared size.
    #[error("the upload would pass its declared size of {size} bytes")]
    PastSize { size: u64 },
    /// Finishing before every byte arrived.
    #[error("only {received} of {size} bytes have arrived")]
    Incomplete { received: u64, size: u64 },
    /// The bytes are not the ones declared.
    #[error("the bytes' SHA-256 is {found}, not the one declared")]
    Hash { found: BlobId },
    /// The range asked for starts past the end.
    #[error("the range starts past the blob's {size} bytes")]
    Unsatisfiable { size: u64 },
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
}

/// The store of blobs and of uploads in progress.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobStore({})", self.store)
    }
}

/// Where an S3-compatible bucket is (`--blob-store s3`).
#[derive(Clone, Debug, Default)]
pub struct S3Config {
    pub bucket: String,
    /// The service's URL; empty for AWS itself.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Whether `endpoint` may be spoken to in plain HTTP: only on loopback
/// (a test's or a sidecar's S3); anything else must be HTTPS.
fn plain_http_allowed(endpoint: &str) -> anyhow::Result<bool> {
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("the S3 endpoint {endpoint:?} is not a URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    match scheme {
        "https" => Ok(false),
        "http" if matches!(host, "127.0.0.1" | "localhost" | "::1") => Ok(true),
        "http" => anyhow::bail!(
            "the S3 endpoint {endpoint:?} must be https:// (plain http only on loopback)"
        ),
        _ => anyhow::bail!("the S3 endpoint {endpoint:?} is neither http:// nor https://"),
    }
}

/// Makes ring the process's TLS provider (once; later calls do nothing):
/// object_store's HTTP client is built without one, so that the server
/// carries one cryptography library, not two.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How many bytes a copy holds in memory at once while finishing.
const COPY_CHUNK: usize = 5 * 1024 * 1024;

impl BlobStore {
    pub fn new(store: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore { store }
    }

    /// Blobs in files under `dir` (made if missing).
    pub fn filesystem(dir: &FsPath) -> anyhow::Result<BlobStore> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(BlobStore::new(Arc::new(store)))
    }

    /// Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2...).
    pub fn s3(config: &S3Config) -> anyhow::Result<BlobStore> {
        install_tls_provider();
        // What the settings leave empty comes from the environment as
        // every AWS tool reads it (a role's credentials included).
        let mut builder =
            object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&config.bucket);
        if !config.region.is_empty() {
            builder = builder.with_region(&config.region);
        }
        if !config.access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&config.access_key_id)
                .with_secret_access_key(&config.secret_access_key);
        }
        if !config.endpoint.is_empty() {
            builder = builder
                .with_endpoint(&config.endpoint)
                // Path-style addresses: what every S3-compatible service takes.
                .with_virtual_hosted_style_request(false)
                .with_allow_http(plain_http_allowed(&config.endpoint)?);
        }
        Ok(BlobStore::new(Arc::new(builder.build()?)))
    }

    /// Blobs in memory: tests, and a server started without a data
    /// directory.
    pub fn in_memory() -> BlobStore {
        BlobStore::new(Arc::new(InMemory::new()))
    }

    fn blob_path(id: &BlobId) -> Path {
        let hex = id.hex();
        Path::from_iter(["blobs", &hex[..2], &hex])
    }

    fn parts_of(upload: &str) -> Path {
        Path::from_iter(["uploads", upload])
    }

    fn part_path(upload: &str, offset: u64) -> Path {
        // Fixed width, so parts list in offset order.
        Path::from_iter(["uploads", upload, &format!("{offset:016x}")])
    }

    /// The blob's size, or `None` when there is no such blob.
    pub async fn size(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        match self.store.head(&Self::blob_path(id)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores `bytes` whole (a PDF the server made, a fixture's file).
    pub async fn put(&self, bytes: Bytes) -> Result<BlobId, BlobError> {
        let id = BlobId::of(&bytes);
        if self.size(&id).await?.is_none() {
            self.store
                .put(&Self::blob_path(&id), PutPayload::from_bytes(bytes))
                .await?;
        }
        Ok(id)
    }

    /// The bytes of `range` (clamped to the blob's end), as they are read.
    pub async fn read(
        &self,
        id: &BlobId,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let options = GetOptions::default().with_range(Some(GetRange::Bounded(range)));
        match self.store.get_opts(&Self::blob_path(id), options).await {
            Ok(got) => Ok(got.into_stream().map_err(BlobError::from).boxed()),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// All of a blob, in memory: for small ones only (a test, a check).
    pub async fn read_all(&self, id: &BlobId) -> Result<Bytes, BlobError> {
        match self.store.get(&Self::blob_path(id)).await {
            Ok(got) => Ok(got.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The parts of `upload` that follow each other from offset 0, as
    /// (offset, size), and the bytes they make.
    async fn run_of_parts(&self, upload: &str) -> Result<(Vec<(u64, u64)>, u64), BlobError> {
        let mut parts: Vec<(u64, u64)> = self
            .store
            .list(Some(&Self::parts_of(upload)))
            .map_ok(|meta| {
                let offset = meta
                    .location
                    .filename()
                    .and_then(|name| u64::from_str_radix(name, 16).ok());
                (offset, meta.size)
            })
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .filter_map(|(offset, size)| Some((offset?, size)))
            .collect();
        parts.sort_unstable();
        let mut run = Vec::new();
        let mut end = 0u64;
        for (offset, size) in parts {
            if offset == end && size > 0 {
                run.push((offset, size));
                end += size;
            }
        }
        Ok((run, end))
    }

    /// How many bytes of `upload` have arrived, in order from the first.
    pub async fn received(&self, upload: &str) -> Result<u64, BlobError> {
        Ok(self.run_of_parts(upload).await?.1)
    }

    /// Stores `bytes` as the part of `upload` at `offset`, which must be
    /// where the upload stands; answers where it stands now. A part that
    /// would pass `size`, the declared size, is refused.
    pub async fn append(
        &self,
        upload: &str,
        size: u64,
        offset: u64,
        bytes: Bytes,
    ) -> Result<u64, BlobError> {
        let received = self.received(upload).await?;
        if offset != received {
            return Err(BlobError::Offset { received });
        }
        let end = offset + bytes.len() as u64;
        if end > size {
            return Err(BlobError::PastSize { size });
        }
        if bytes.is_empty() {
            return Ok(received);
        }
        self.store
            .put(
                &Self::part_path(upload, offset),
                PutPayload::from_bytes(bytes),
            )
            .await?;
        Ok(end)
    }

    /// Makes `upload`'s bytes the blob `expected`, once all `size` of them
    /// arrived and they hash to it, and drops the parts. Finishing again,
    /// or an upload of a blob already kept, is done at once.
    pub async fn finish(
        &self,
        upload: &str,
        size: u64,
        expected: &BlobId,
    ) -> Result<(), BlobError> {
        if self.size(expected).await?.is_some() {
            self.discard(upload).await?;
            return Ok(());
        }
        let (run, received) = self.run_of_parts(upload).await?;
        if received != size {
            return Err(BlobError::Incomplete { received, size });
        }
        // One pass: hashed as it is copied, so what is checked is what is
        // kept (a part replaced meanwhile cannot slip in between a check
        // and a copy). The object appears only when the copy completes,
        // and a copy whose hash is not the declared one is aborted.
        let target = self.store.put_multipart(&Self::blob_path(expected)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(target, COPY_CHUNK);
        let mut hash = Sha256::new();
        for (offset, _) in &run {
            let part = self.store.get(&Self::part_path(upload, *offset)).await;
            let mut part = match part {
                Ok(part) => part.into_stream(),
                Err(e) => {
                    writer.abort().await.ok();
                    return Err(e.into());
                }
            };
            loop {
                match part.try_next().await {
                    Ok(Some(bytes)) => {
                        hash.update(&bytes);
                        writer.wait_for_capacity(2).await?;
                        writer.put(bytes);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        writer.abort().await.ok();
                        return Err(e.into());
                    }
                }
            }
        }
        let found = BlobId(hash.finalize().into());
        if found != *expected {
            writer.abort().await?;
            return Err(BlobError::Hash { found });
        }
        writer.finish().await?;
        self.discard(upload).await
    }

    /// Drops what arrived of `upload`.
    pub async fn discard(&self, upload: &str) -> Result<(), BlobError> {
        let parts: Vec<Path> = self
            .store
            .list(Some(&Self::parts_of(upload)))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for part in parts {
            match self.store.delete(&part).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_and_refuse_what_is_not_lower_hex() {
        let id = BlobId::of(b"hello");
        assert_eq!(
            id.hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(BlobId::parse(&id.hex()), Some(id));
        assert_eq!(BlobId::parse(&id.hex().to_uppercase()), None);
        assert_eq!(BlobId::parse(&id.hex()[1..]), None);
        assert_eq!(BlobId::parse(&format!("{}0", id.hex())), None);
        assert_eq!(BlobId::parse(&"g".repeat(64)), None);
        assert_eq!(BlobId::parse("../../../../etc/passwd"), None);
        assert_eq!(BlobId::parse(&"é".repeat(32)), None);
    }

    #[test]
    fn plain_http_reaches_only_a_bucket_on_this_machine() {
        assert!(!plain_http_allowed("https://s3.example.com").unwrap());
        assert!(plain_http_allowed("http://127.0.0.1:9000").unwrap());
        assert!(plain_http_allowed("http://localhost:9000/").unwrap());
        assert!(plain_http_allowed("http://[::1]:9000").unwrap());
        for refused in [
            "http://s3.example.com",
            "http://127.0.0.1.example.com:9000",
            "http://localhost@evil.example",
            "ftp://127.0.0.1",
            "127.0.0.1:9000",
        ] {
            assert!(plain_http_allowed(refused).is_err(), "{refused}");
        }
    }
}
