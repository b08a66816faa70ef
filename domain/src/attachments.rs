//! Attachments: the files that customers, agents and bots send in a session.
//!
//! A file is uploaded first ([`upload`]), then referenced by the message that
//! carries it (`conversation::send` with `attachment_ids`). An upload that no
//! message references within a day is removed ([`sweep`]).
//!
//! The safety rules, all of them here:
//! - the type comes from the bytes ([`sniff`]), never from the client; a
//!   file whose name or declared type claims another type is refused;
//! - the account's [`AttachmentPolicy`] says how large and which kinds;
//!   executables, archives and anything unrecognised are never accepted;
//! - an attachment is visible exactly to those who may see its session (the
//!   scope rule, through `sessions::visible`), and, until a message
//!   references it, to its uploader alone;
//! - only raster images are ever shown inline ([`Attachment::inline`]); their
//!   thumbnails are made here, from decoded pixels, with allocation limits.
//!
//! The bytes live in an object store ([`Files`]): the local file system by
//! default, or any S3-compatible store shared by several nodes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// An uploaded file's metadata. The bytes are at [`Attachment::path`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: AttachmentId,
    /// `None` for a file staged for a blast (`POST
    /// /accounts/{id}/attachments`): each recipient's message then carries
    /// its own copy, in its own session.
    pub session_id: Option<SessionId>,
    /// The message that carries it; `None` until one does.
    pub message_id: Option<i64>,
    pub uploader_kind: SenderKind,
    /// The name it was uploaded under, without any directory.
    pub file_name: String,
    /// Sniffed from the bytes, never taken from the client.
    pub content_type: String,
    pub kind: AttachmentKind,
    pub size_bytes: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Raster images: their pixel size.
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// Set when there is a thumbnail (`GET /attachments/{id}/thumbnail`):
    /// its pixel size, so that a transcript reserves the space before it loads.
    pub thumbnail_width: Option<i32>,
    pub thumbnail_height: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// The content types shown inline (as images). Everything else is served as
/// a download, and SVG, whose script would run, is never among these.
pub const RASTER_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 320;

impl Attachment {
    /// Whether a browser may show it inline: raster images only.
    pub fn inline(&self) -> bool {
        RASTER_TYPES.contains(&self.content_type.as_str())
    }

    /// The authenticated download path.
    pub fn path(&self) -> String {
        format!("/api/v1/attachments/{}", self.id)
    }

    /// The authenticated thumbnail path, for images that have one.
    pub fn thumbnail_path(&self) -> Option<String> {
        self.thumbnail_width.map(|_| format!("/api/v1/attachments/{}/thumbnail", self.id))
    }

    /// "2.4 MB", "830 KB", "12 B": for a file card.
    pub fn size_label(&self) -> String {
        size_label(self.size_bytes.max(0) as f64)
    }
}

/// An account's attachment limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentPolicy {
    /// The largest file, in bytes (1 KiB to 100 MiB; 10 MiB by default).
    pub max_bytes: i64,
    /// The most files one message may carry (1 to 20; 10 by default).
    pub max_per_message: i32,
    /// The kinds accepted. Executables are never accepted, whatever this says.
    pub kinds: Vec<AttachmentKind>,
}

impl Default for AttachmentPolicy {
    fn default() -> Self {
        Self { max_bytes: 10 * 1024 * 1024, max_per_message: 10, kinds: AttachmentKind::ALL.to_vec() }
    }
}

/// Where to fetch an attachment without an `Authorization` header (an
/// `<img src>`, a download link): signed, and valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentLink {
    pub url: String,
    pub thumbnail_url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// "2.4 MB", "830 KB", "12 B": a file's size as people read it.
pub fn size_label(bytes: f64) -> String {
    if bytes >= 1_000_000.0 {
        format!("{:.1} MB", bytes / 1_000_000.0)
    } else if bytes >= 1_000.0 {
        format!("{:.0} KB", bytes / 1_000.0)
    } else {
        format!("{bytes} B")
    }
}

/// "10 MiB", "512 KiB": how the limits are named in errors and forms.
pub fn bytes_label(bytes: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{} KiB", (bytes + 1023) / 1024)
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use std::{collections::HashMap, io::Cursor, sync::Arc};

    use bytes::Bytes;
    use hmac::{Hmac, Mac as _};
    use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload, path::Path as ObjectPath};
    use rand::RngCore as _;
    use sha2::{Digest as _, Sha256};
    use sqlx::{PgConnection, PgPool};

    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        sessions::{Lock, Session, visible},
    };

    /// How long a signed link stays valid.
    pub const LINK_TTL: chrono::Duration = chrono::Duration::hours(1);
    /// How long an upload may wait for a message to reference it.
    pub const UNREFERENCED_TTL: chrono::Duration = chrono::Duration::days(1);

    const OFFICE_TYPES: &[&str] = &[
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/rtf",
    ];

    /// What a file's bytes are: its content type, and the kind it counts as
    /// (`None` for what is never accepted: executables, scripts, archives,
    /// media, unknown binary data).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Sniffed {
        pub content_type: &'static str,
        pub kind: Option<AttachmentKind>,
    }

    /// Sniffs the bytes: magic numbers first (the `infer` crate), then UTF-8
    /// text, with SVG told apart from other text because a browser runs its
    /// script.
    pub fn sniff(bytes: &[u8]) -> Sniffed {
        use AttachmentKind as K;
        if let Some(t) = infer::get(bytes) {
            let ct = t.mime_type();
            let kind = match ct {
                _ if RASTER_TYPES.contains(&ct) => Some(K::Image),
                "application/pdf" => Some(K::Pdf),
                _ if OFFICE_TYPES.contains(&ct) => Some(K::Office),
                "text/xml" if looks_like_svg(bytes) => {
                    return Sniffed { content_type: "image/svg+xml", kind: Some(K::Image) };
                }
                "text/html" | "text/xml" => Some(K::Text),
                // Shell scripts, executables, archives, audio, video, fonts…
                _ => None,
            };
            return Sniffed { content_type: ct, kind };
        }
        if is_text(bytes) {
            if looks_like_svg(bytes) {
                return Sniffed { content_type: "image/svg+xml", kind: Some(K::Image) };
            }
            return Sniffed { content_type: "text/plain", kind: Some(K::Text) };
        }
        Sniffed { content_type: "application/octet-stream", kind: None }
    }

    /// UTF-8 without NUL bytes (a file cut inside a character still counts).
    fn is_text(bytes: &[u8]) -> bool {
        if bytes.contains(&0) {
            return false;
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
        }
    }

    fn looks_like_svg(bytes: &[u8]) -> bool {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_ascii_lowercase();
        head.contains("<svg")
    }

    /// Whether a type claimed by a file's name or its upload header agrees
    /// with the sniffed one.
    fn agrees(claimed: &str, actual: &str) -> bool {
        let claimed = claimed.trim().to_ascii_lowercase();
        let claimed = claimed.split(';').next().unwrap_or_default().trim();
        claimed == actual
            || (claimed == "image/jpg" && actual == "image/jpeg")
            || (actual == "text/plain"
                && (claimed.starts_with("text/")
                    || matches!(claimed, "application/json" | "application/xml" | "application/x-yaml")))
            || (actual == "text/xml" && matches!(claimed, "application/xml" | "text/xml"))
            || (actual == "application/rtf" && claimed == "text/rtf")
    }

    /// The name without any directory a client sent along (`C:\fakepath\…`),
    /// without control characters, at most 255 characters.
    pub fn clean_file_name(name: &str) -> Result<String> {
        let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned();
        if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
            return Err(Error::invalid("file_name", "the file needs a name"));
        }
        Ok(cleaned.chars().take(255).collect())
    }

    /// Checks a file against the account's policy and its own name. Returns
    /// what its bytes are.
    pub fn check(
        policy: &AttachmentPolicy,
        file_name: &str,
        declared_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<(&'static str, AttachmentKind)> {
        if bytes.is_empty() {
            return Err(Error::invalid("file", "the file is empty"));
        }
        if bytes.len() as i64 > policy.max_bytes {
            return Err(too_large(policy.max_bytes));
        }
        let sniffed = sniff(bytes);
        let ct = sniffed.content_type;
        let Some(kind) = sniffed.kind else {
            return Err(Error::unsupported_type(ct, format!("files of type {ct} are not accepted")));
        };
        if !policy.kinds.contains(&kind) {
            return Err(Error::unsupported_type(
                ct,
                format!("this account does not accept {kind} files (this one is {ct})"),
            ));
        }
        let named: Vec<&str> = mime_guess::from_path(file_name).iter_raw().collect();
        if !named.is_empty() && !named.iter().any(|n| agrees(n, ct)) {
            return Err(Error::unsupported_type(
                ct,
                format!("{file_name:?} is named as {} but its bytes are {ct}", named[0]),
            ));
        }
        if let Some(declared) = declared_type.filter(|d| {
            let d = d.trim();
            !d.is_empty() && !d.eq_ignore_ascii_case("application/octet-stream")
        }) && !agrees(declared, ct)
        {
            return Err(Error::unsupported_type(
                ct,
                format!("the upload says it is {declared} but its bytes are {ct}"),
            ));
        }
        Ok((ct, kind))
    }

    /// The error for a file over the limit, naming it.
    pub fn too_large(max_bytes: i64) -> Error {
        Error::too_large(
            max_bytes.max(0) as u64,
            format!("the file is larger than this account's limit of {}", bytes_label(max_bytes)),
        )
    }

    /// A raster image's size and its thumbnail.
    #[derive(Debug, Clone)]
    pub struct Thumbnail {
        pub width: u32,
        pub height: u32,
        pub bytes: Vec<u8>,
        pub thumbnail_width: u32,
        pub thumbnail_height: u32,
    }

    /// The type thumbnails of `content_type` are stored as.
    pub fn thumbnail_type(content_type: &str) -> &'static str {
        if content_type == "image/jpeg" { "image/jpeg" } else { "image/png" }
    }

    /// Decodes a raster image (within limits, so that a small file that
    /// claims 100,000 × 100,000 pixels is refused, not allocated) and makes
    /// its thumbnail, at most [`THUMBNAIL_MAX_SIDE`] on its longer side.
    /// CPU-bound: call it from a blocking task.
    pub fn thumbnail(content_type: &str, bytes: &[u8]) -> Result<Thumbnail> {
        let unreadable = |e: image::ImageError| {
            Error::unsupported_type(
                content_type,
                format!("the file's bytes start as {content_type} but it is not a readable image ({e})"),
            )
        };
        let format = image::ImageFormat::from_mime_type(content_type).ok_or_else(|| {
            Error::unsupported_type(content_type, format!("{content_type} has no thumbnails"))
        })?;
        let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(16_384);
        limits.max_image_height = Some(16_384);
        limits.max_alloc = Some(512 * 1024 * 1024);
        reader.limits(limits);
        let image = reader.decode().map_err(unreadable)?;
        let (width, height) = (image.width(), image.height());
        let small = if width <= THUMBNAIL_MAX_SIDE && height <= THUMBNAIL_MAX_SIDE {
            image
        } else {
            image.thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE)
        };
        let mut out = Vec::new();
        let encoded = if thumbnail_type(content_type) == "image/jpeg" {
            image::DynamicImage::ImageRgb8(small.to_rgb8())
                .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        } else {
            small.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        };
        encoded.map_err(|e| Error::internal("thumbnail encoding", e))?;
        Ok(Thumbnail {
            width,
            height,
            thumbnail_width: small.width(),
            thumbnail_height: small.height(),
            bytes: out,
        })
    }

    /// Which bytes of an attachment: the file, or its thumbnail.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Variant {
        File,
        Thumbnail,
    }

    impl Variant {
        fn as_str(self) -> &'static str {
            match self {
                Self::File => "file",
                Self::Thumbnail => "thumbnail",
            }
        }
    }

    /// Where the bytes are kept.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Storage {
        /// A directory of the local file system (one node, or a shared mount).
        Local(std::path::PathBuf),
        /// `s3://bucket[/prefix]` on an S3-compatible store, shared by every node.
        S3 { url: String, settings: S3Settings },
    }

    /// Explicit S3 settings; anything unset comes from the standard `AWS_*`
    /// environment (session tokens, instance credentials…).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct S3Settings {
        pub endpoint: Option<String>,
        pub region: Option<String>,
        pub access_key_id: Option<String>,
        pub secret_access_key: Option<String>,
        /// Allow a plain-HTTP endpoint (a store on the same host or network).
        pub allow_http: bool,
    }

    /// The object store that holds the bytes, and the key that signs links.
    #[derive(Clone)]
    pub struct Files {
        objects: Arc<dyn ObjectStore>,
        /// Loaded on first use, so that a node starts while the database is down.
        key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
        pool: PgPool,
        /// clamd's address (`host:port`), when uploads are scanned.
        scanner: Option<Arc<str>>,
        /// Where the files are, for logs: a directory or an `s3://` URL.
        pub location: String,
    }

    impl std::fmt::Debug for Files {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Files").field("location", &self.location).finish_non_exhaustive()
        }
    }

    impl Files {
        /// Opens the store, with the signing key shared through the database.
        pub async fn connect(pool: &PgPool, storage: &Storage) -> Result<Self> {
            let (objects, location): (Arc<dyn ObjectStore>, String) = match storage {
                Storage::S3 { url, settings } => (s3_store(url, settings)?, url.clone()),
                Storage::Local(dir) => {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::internal("attachments directory", format!("{}: {e}", dir.display()))
                    })?;
                    let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(|e| Error::internal("attachments directory", e))?;
                    (Arc::new(local), dir.display().to_string())
                }
            };
            Ok(Self { objects, key: Default::default(), pool: pool.clone(), scanner: None, location })
        }

        /// Scans every upload with the clamd at `addr` (`host:port`) before
        /// it is stored; without one, nothing is scanned.
        pub fn with_scanner(mut self, addr: Option<String>) -> Self {
            self.scanner = addr.map(Into::into);
            self
        }

        /// Refuses bytes the scanner finds malware in. Fails closed: when
        /// the scanner cannot answer, nothing is stored.
        async fn scan(&self, bytes: &[u8]) -> Result<()> {
            let Some(addr) = self.scanner.as_deref() else { return Ok(()) };
            let unavailable = |why: String| {
                tracing::warn!(clamd = addr, error = %why, "virus scan failed");
                Error::Unavailable {
                    message: "the virus scanner is not reachable; try again in a moment".into(),
                }
            };
            let scanned = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                clamav_client::tokio::scan_buffer(
                    bytes,
                    clamav_client::tokio::Tcp { host_address: addr },
                    None,
                ),
            )
            .await;
            let reply = match scanned {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => return Err(unavailable(e.to_string())),
                Err(_) => return Err(unavailable("no answer within 30 s".into())),
            };
            let reply = String::from_utf8_lossy(&reply).trim_end_matches('\0').trim().to_owned();
            match reply.strip_prefix("stream: ") {
                Some("OK") => Ok(()),
                Some(found) if found.ends_with(" FOUND") => {
                    let name = found.trim_end_matches(" FOUND");
                    Err(Error::invalid(
                        "file",
                        format!("the file was refused: the virus scanner found {name} in it"),
                    ))
                }
                _ => Err(unavailable(reply)),
            }
        }

        pub(crate) async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
            self.objects
                .put(&ObjectPath::from(key), PutPayload::from_bytes(bytes))
                .await
                .map(|_| ())
                .map_err(|e| storage_error("storing an attachment", e))
        }

        /// The stored bytes under `key`.
        pub(crate) async fn get(&self, key: &str) -> Result<Bytes> {
            let got = self.objects.get(&ObjectPath::from(key)).await;
            match got {
                Ok(result) => result.bytes().await.map_err(|e| storage_error("reading an attachment", e)),
                Err(object_store::Error::NotFound { .. }) => Err(Error::not_found("attachment")),
                Err(e) => Err(storage_error("reading an attachment", e)),
            }
        }

        /// Deletes one object; a missing one is not an error.
        async fn try_delete(&self, key: &str) -> std::result::Result<(), object_store::Error> {
            match self.objects.delete(&ObjectPath::from(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }

        /// Deletes the objects no row ever named (an upload whose row did not
        /// commit), best effort; a missing one is not an error.
        pub(crate) async fn delete(&self, keys: &[String]) {
            for key in keys {
                match self.objects.delete(&ObjectPath::from(key.as_str())).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => tracing::warn!(key, error = %e, "an attachment's object could not be deleted"),
                }
            }
        }

        async fn signature(&self, id: AttachmentId, variant: Variant, expires: i64) -> Result<Hmac<Sha256>> {
            let key = self.key.get_or_try_init(|| signing_key(&self.pool, "attachment_links")).await?;
            let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| Error::internal("hmac key", e))?;
            mac.update(format!("{id}.{}.{expires}", variant.as_str()).as_bytes());
            Ok(mac)
        }

        async fn signed_url(
            &self,
            path: &str,
            id: AttachmentId,
            variant: Variant,
            expires: i64,
        ) -> Result<String> {
            let signature = hex::encode(self.signature(id, variant, expires).await?.finalize().into_bytes());
            Ok(format!("{path}?expires={expires}&signature={signature}"))
        }

        /// Signed links to an attachment (and its thumbnail), valid for [`LINK_TTL`].
        pub async fn links(&self, attachment: &Attachment, now: DateTime<Utc>) -> Result<AttachmentLink> {
            let expires_at = now + LINK_TTL;
            let expires = expires_at.timestamp();
            let url = self.signed_url(&attachment.path(), attachment.id, Variant::File, expires).await?;
            let thumbnail_url = match attachment.thumbnail_path() {
                Some(p) => Some(self.signed_url(&p, attachment.id, Variant::Thumbnail, expires).await?),
                None => None,
            };
            Ok(AttachmentLink { url, thumbnail_url, expires_at })
        }

        /// Checks a signed link: a wrong signature is "not found" (ids
        /// cannot be probed), an expired one says so.
        async fn verify(
            &self,
            id: AttachmentId,
            variant: Variant,
            expires: i64,
            signature: &str,
            now: DateTime<Utc>,
        ) -> Result<()> {
            let given = hex::decode(signature).map_err(|_| Error::not_found("attachment"))?;
            self.signature(id, variant, expires)
                .await?
                .verify_slice(&given)
                .map_err(|_| Error::not_found("attachment"))?;
            if now.timestamp() > expires {
                return Err(Error::forbidden(
                    "this link has expired; open the conversation again for a fresh one",
                ));
            }
            Ok(())
        }
    }

    fn storage_error(context: &str, e: object_store::Error) -> Error {
        tracing::warn!(context, error = %e, "object store");
        Error::Unavailable { message: "the attachment store is not reachable".into() }
    }

    /// An S3-compatible store for `s3://bucket[/prefix]`.
    fn s3_store(url: &str, settings: &S3Settings) -> Result<Arc<dyn ObjectStore>> {
        let parsed = url::Url::parse(url).map_err(|e| Error::invalid("ATTACHMENTS_URL", e.to_string()))?;
        if parsed.scheme() != "s3" {
            return Err(Error::invalid("ATTACHMENTS_URL", "must be s3://bucket or s3://bucket/prefix"));
        }
        let bucket = parsed.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
            Error::invalid("ATTACHMENTS_URL", "names no bucket (s3://bucket or s3://bucket/prefix)")
        })?;
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &settings.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if settings.allow_http {
            builder = builder.with_allow_http(true);
        }
        let s3 = builder.build().map_err(|e| Error::invalid("ATTACHMENTS_URL", e.to_string()))?;
        let prefix = parsed.path().trim_matches('/');
        Ok(if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
        })
    }

    /// The key for `purpose`, created by the first node that needs it.
    async fn signing_key(pool: &PgPool, purpose: &str) -> Result<Vec<u8>> {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        sqlx::query!(
            "INSERT INTO signing_keys (purpose, key) VALUES ($1, $2) ON CONFLICT (purpose) DO NOTHING",
            purpose,
            &fresh[..]
        )
        .execute(pool)
        .await?;
        Ok(sqlx::query_scalar!("SELECT key FROM signing_keys WHERE purpose = $1", purpose)
            .fetch_one(pool)
            .await?)
    }

    /// An attachment row with what only the server needs.
    struct Stored {
        id: AttachmentId,
        account_id: AccountId,
        session_id: Option<SessionId>,
        message_id: Option<i64>,
        uploader_kind: SenderKind,
        uploader_agent_id: Option<AgentId>,
        file_name: String,
        content_type: String,
        kind: AttachmentKind,
        size_bytes: i64,
        sha256: String,
        storage_key: String,
        width: Option<i32>,
        height: Option<i32>,
        thumbnail_key: Option<String>,
        thumbnail_width: Option<i32>,
        thumbnail_height: Option<i32>,
        created_at: DateTime<Utc>,
    }

    impl Stored {
        fn public(self) -> Attachment {
            Attachment {
                id: self.id,
                session_id: self.session_id,
                message_id: self.message_id,
                uploader_kind: self.uploader_kind,
                file_name: self.file_name,
                content_type: self.content_type,
                kind: self.kind,
                size_bytes: self.size_bytes,
                sha256: self.sha256,
                width: self.width,
                height: self.height,
                thumbnail_width: self.thumbnail_width,
                thumbnail_height: self.thumbnail_height,
                created_at: self.created_at,
            }
        }

        /// Whether `actor` uploaded it.
        fn uploaded_by(&self, actor: &Actor) -> bool {
            match actor {
                Actor::System => true,
                Actor::Customer(c) => {
                    self.uploader_kind == SenderKind::Customer && Some(c.session_id) == self.session_id
                }
                Actor::Agent(a) => self.uploader_agent_id == Some(a.id),
            }
        }
    }

    /// `query_as!` for [`Stored`]: its columns between `$before` and `$after`.
    macro_rules! stored_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Stored,
                $before
                    + r#"id AS "id: AttachmentId", account_id AS "account_id: AccountId",
                         session_id AS "session_id: SessionId", message_id,
                         uploader_kind AS "uploader_kind: SenderKind",
                         uploader_agent_id AS "uploader_agent_id: AgentId", file_name, content_type,
                         kind AS "kind: AttachmentKind", size_bytes, sha256, storage_key, width, height,
                         thumbnail_key, thumbnail_width, thumbnail_height, created_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// The account's policy (the defaults when it has set none).
    pub(crate) async fn policy_of(conn: &mut PgConnection, account: AccountId) -> Result<AttachmentPolicy> {
        let row = sqlx::query!(
            r#"SELECT max_bytes, max_per_message, kinds FROM attachment_policies WHERE account_id = $1"#,
            account.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        Ok(match row {
            None => AttachmentPolicy::default(),
            Some(r) => AttachmentPolicy {
                max_bytes: r.max_bytes,
                max_per_message: r.max_per_message,
                kinds: r.kinds.iter().filter_map(|k| k.parse().ok()).collect(),
            },
        })
    }

    /// An account's attachment policy, for its members.
    pub async fn policy(pool: &PgPool, actor: &Actor, account: AccountId) -> Result<AttachmentPolicy> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("an account's settings are for its agents"));
        }
        if !actor.in_account(account) {
            return Err(Error::not_found("account"));
        }
        policy_of(&mut *pool.acquire().await?, account).await
    }

    /// An account's attachment policy for its editor: the account's admins
    /// (members read it with [`policy`]).
    pub async fn editable_policy(
        pool: &PgPool,
        actor: &Actor,
        account: AccountId,
    ) -> Result<AttachmentPolicy> {
        actor.require_admin_of(account, "account")?;
        policy_of(&mut *pool.acquire().await?, account).await
    }

    /// Sets an account's attachment policy (its admins).
    pub async fn set_policy(
        pool: &PgPool,
        actor: &Actor,
        account: AccountId,
        policy: AttachmentPolicy,
    ) -> Result<AttachmentPolicy> {
        actor.require_admin_of(account, "account")?;
        if !(1024..=100 * 1024 * 1024).contains(&policy.max_bytes) {
            return Err(Error::invalid("max_bytes", "must be between 1 KiB and 100 MiB"));
        }
        if !(1..=20).contains(&policy.max_per_message) {
            return Err(Error::invalid("max_per_message", "must be between 1 and 20"));
        }
        let mut kinds = policy.kinds.clone();
        kinds.sort_by_key(|k| k.as_str());
        kinds.dedup();
        if kinds.is_empty() {
            return Err(Error::invalid("kinds", "allow at least one kind of file"));
        }
        let names: Vec<String> = kinds.iter().map(|k| k.as_str().to_owned()).collect();
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "INSERT INTO attachment_policies (account_id, max_bytes, max_per_message, kinds)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id) DO UPDATE
             SET max_bytes = $2, max_per_message = $3, kinds = $4, updated_at = now()",
            account.0,
            policy.max_bytes,
            policy.max_per_message,
            &names
        )
        .execute(&mut *tx)
        .await?;
        let saved = AttachmentPolicy { kinds, ..policy };
        crate::agents::audit(
            &mut tx,
            Some(account),
            actor,
            "attachment_policy.updated",
            &account.to_string(),
            serde_json::to_value(&saved).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// The session, if `actor` may write into it now (the rule of `send`).
    async fn writable(conn: &mut PgConnection, actor: &Actor, id: SessionId) -> Result<Session> {
        let session = visible(conn, actor, id, Lock::None).await?;
        crate::conversation::sender(actor, &session)?;
        if !session.status.is_open() {
            return Err(Error::conflict(
                "session_closed",
                format!("the session is {}; reopen it to send files", session.status),
            ));
        }
        Ok(session)
    }

    /// The largest upload `actor` may send into the session, after checking
    /// that they may write there: the HTTP layer stops reading beyond it.
    pub async fn upload_limit(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<i64> {
        let mut conn = pool.acquire().await?;
        let session = writable(&mut conn, actor, id).await?;
        Ok(policy_of(&mut conn, session.account_id).await?.max_bytes)
    }

    /// A file to upload.
    #[derive(Debug, Clone)]
    pub struct NewUpload {
        pub file_name: String,
        /// The type the client declared, checked against the bytes.
        pub declared_type: Option<String>,
        pub bytes: Bytes,
    }

    /// Stores a file in a session, unreferenced until a message carries it.
    /// Nothing is stored when any check fails.
    pub async fn upload(
        pool: &PgPool,
        files: &Files,
        actor: &Actor,
        id: SessionId,
        input: NewUpload,
    ) -> Result<Attachment> {
        let (session, policy) = {
            let mut conn = pool.acquire().await?;
            let session = writable(&mut conn, actor, id).await?;
            let policy = policy_of(&mut conn, session.account_id).await?;
            (session, policy)
        };
        let uploader = crate::conversation::sender(actor, &session)?;
        store(pool, files, session.account_id, Some(session.id), uploader, &policy, input).await
    }

    /// Stages a file for a blast in `account` (its admins): in no session
    /// and carried by no message, until a blast takes it
    /// ([`NewBlast::attachment_id`](crate::blasts::NewBlast)); like any
    /// upload no message took, it is removed after a day if none does.
    pub async fn stage_for_blast(
        pool: &PgPool,
        files: &Files,
        actor: &Actor,
        account: AccountId,
        input: NewUpload,
    ) -> Result<Attachment> {
        let (agent, policy) = blast_upload_rule(pool, actor, account).await?;
        store(pool, files, account, None, (SenderKind::Agent, Some(agent)), &policy, input).await
    }

    /// The largest file `actor` may stage for a blast in `account`, after
    /// checking that they may (the HTTP layer stops reading beyond it).
    pub async fn blast_upload_limit(pool: &PgPool, actor: &Actor, account: AccountId) -> Result<i64> {
        Ok(blast_upload_rule(pool, actor, account).await?.1.max_bytes)
    }

    /// Who may stage a blast's file: an admin (a person or a bot with the
    /// role) of the account, whose policy applies.
    async fn blast_upload_rule(
        pool: &PgPool,
        actor: &Actor,
        account: AccountId,
    ) -> Result<(AgentId, AttachmentPolicy)> {
        let Some(agent) = actor.agent_id() else {
            return Err(Error::forbidden("only an admin may attach a file to a blast"));
        };
        actor.require_admin_of(account, "account")?;
        Ok((agent, policy_of(&mut *pool.acquire().await?, account).await?))
    }

    /// A file that passed every check (name, type from the bytes, the
    /// policy, the scanner), with its digest and a raster image's
    /// thumbnail: ready to be put in the store under [`Processed::keys`].
    #[derive(Debug, Clone)]
    pub struct Processed {
        pub id: AttachmentId,
        pub file_name: String,
        pub content_type: &'static str,
        pub kind: AttachmentKind,
        /// The file's bytes until they are stored (see [`Processed::release`]).
        pub bytes: Bytes,
        pub size: i64,
        pub sha256: String,
        pub thumbnail: Option<Thumbnail>,
        /// Where the bytes go, and the thumbnail's bytes if there is one.
        pub storage_key: String,
        pub thumbnail_key: Option<String>,
    }

    impl Processed {
        /// The objects it puts in the store.
        pub fn keys(&self) -> Vec<String> {
            std::iter::once(self.storage_key.clone()).chain(self.thumbnail_key.clone()).collect()
        }

        /// Drops the bytes once stored (the row needs only their size and
        /// digest), so that a batch of imported files is not held in memory.
        pub fn release(&mut self) {
            self.bytes = Bytes::new();
            if let Some(t) = &mut self.thumbnail {
                t.bytes = Vec::new();
            }
        }

        fn dims(&self, f: fn(&Thumbnail) -> u32) -> Option<i32> {
            self.thumbnail.as_ref().map(|t| f(t) as i32)
        }
    }

    /// Checks a file against the policy and the scanner and makes its
    /// thumbnail; nothing is stored yet. `key_prefix` is where its objects
    /// will live (`{account}/{session}`, `{account}/staged`, …).
    pub(crate) async fn process(
        files: &Files,
        policy: &AttachmentPolicy,
        key_prefix: &str,
        input: NewUpload,
    ) -> Result<Processed> {
        let file_name = clean_file_name(&input.file_name)?;
        let (content_type, kind) = check(policy, &file_name, input.declared_type.as_deref(), &input.bytes)?;
        files.scan(&input.bytes).await?;
        let sha256 = hex::encode(Sha256::digest(&input.bytes));
        let thumbnail = if RASTER_TYPES.contains(&content_type) {
            let bytes = input.bytes.clone();
            Some(
                tokio::task::spawn_blocking(move || thumbnail(content_type, &bytes))
                    .await
                    .map_err(|e| Error::internal("thumbnail task", e))??,
            )
        } else {
            None
        };
        let id = AttachmentId::new();
        let storage_key = format!("{key_prefix}/{id}");
        let thumbnail_key = thumbnail.as_ref().map(|_| format!("{storage_key}.thumbnail"));
        Ok(Processed {
            id,
            file_name,
            content_type,
            kind,
            size: input.bytes.len() as i64,
            bytes: input.bytes,
            sha256,
            thumbnail,
            storage_key,
            thumbnail_key,
        })
    }

    /// Puts a processed file's objects in the store: both, or (after a
    /// failure) neither.
    pub(crate) async fn put_processed(files: &Files, p: &Processed) -> Result<()> {
        files.put(&p.storage_key, p.bytes.clone()).await?;
        if let (Some(t), Some(key)) = (&p.thumbnail, &p.thumbnail_key)
            && let Err(e) = files.put(key, Bytes::from(t.bytes.clone())).await
        {
            files.delete(std::slice::from_ref(&p.storage_key)).await;
            return Err(e);
        }
        Ok(())
    }

    /// Attachment rows for processed files whose objects are stored, in
    /// the caller's transaction: one statement for any number. `message`
    /// is each file's message (with its session), or `None` for an upload
    /// no message carries yet.
    pub(crate) struct NewRow<'a> {
        pub processed: &'a Processed,
        pub session: Option<SessionId>,
        pub message_id: Option<i64>,
        pub uploader: (SenderKind, Option<AgentId>),
        pub created_at: DateTime<Utc>,
    }

    pub(crate) async fn insert_rows(
        conn: &mut PgConnection,
        account: AccountId,
        rows: &[NewRow<'_>],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let col = |f: &dyn Fn(&NewRow<'_>) -> Option<i32>| rows.iter().map(f).collect::<Vec<_>>();
        sqlx::query!(
            "INSERT INTO attachments (id, account_id, session_id, message_id, uploader_kind, uploader_agent_id,
                 file_name, content_type, kind, size_bytes, sha256, storage_key, width, height, thumbnail_key,
                 thumbnail_width, thumbnail_height, created_at)
             SELECT u.id, $1, u.session_id, u.message_id, u.uploader_kind, u.uploader_agent_id, u.file_name,
                    u.content_type, u.kind, u.size_bytes, u.sha256, u.storage_key, u.width, u.height,
                    u.thumbnail_key, u.thumbnail_width, u.thumbnail_height, u.created_at
               FROM UNNEST($2::uuid[], $3::uuid[], $4::int8[], $5::text[], $6::uuid[], $7::text[], $8::text[],
                           $9::text[], $10::int8[], $11::text[], $12::text[], $13::int4[], $14::int4[],
                           $15::text[], $16::int4[], $17::int4[], $18::timestamptz[])
                    AS u(id, session_id, message_id, uploader_kind, uploader_agent_id, file_name, content_type,
                         kind, size_bytes, sha256, storage_key, width, height, thumbnail_key, thumbnail_width,
                         thumbnail_height, created_at)",
            account.0,
            &rows.iter().map(|r| r.processed.id.0).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.session.map(|s| s.0)).collect::<Vec<_>>() as &[Option<uuid::Uuid>],
            &rows.iter().map(|r| r.message_id).collect::<Vec<_>>() as &[Option<i64>],
            &rows.iter().map(|r| r.uploader.0.as_str().to_owned()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.uploader.1.map(|a| a.0)).collect::<Vec<_>>() as &[Option<uuid::Uuid>],
            &rows.iter().map(|r| r.processed.file_name.clone()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.processed.content_type.to_owned()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.processed.kind.as_str().to_owned()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.processed.size).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.processed.sha256.clone()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.processed.storage_key.clone()).collect::<Vec<_>>(),
            &col(&|r| r.processed.dims(|t| t.width)) as &[Option<i32>],
            &col(&|r| r.processed.dims(|t| t.height)) as &[Option<i32>],
            &rows.iter().map(|r| r.processed.thumbnail_key.clone()).collect::<Vec<_>>() as &[Option<String>],
            &col(&|r| r.processed.dims(|t| t.thumbnail_width)) as &[Option<i32>],
            &col(&|r| r.processed.dims(|t| t.thumbnail_height)) as &[Option<i32>],
            &rows.iter().map(|r| r.created_at).collect::<Vec<_>>(),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Checks a file against the policy and stores it: the bytes (and a
    /// raster image's thumbnail), then the row. Nothing is stored when any
    /// check fails, and the objects go again if the row cannot be written.
    async fn store(
        pool: &PgPool,
        files: &Files,
        account: AccountId,
        session: Option<SessionId>,
        uploader: (SenderKind, Option<AgentId>),
        policy: &AttachmentPolicy,
        input: NewUpload,
    ) -> Result<Attachment> {
        let prefix = match session {
            Some(session) => format!("{account}/{session}"),
            None => format!("{account}/staged"),
        };
        let processed = process(files, policy, &prefix, input).await?;
        put_processed(files, &processed).await?;
        let row =
            NewRow { processed: &processed, session, message_id: None, uploader, created_at: Utc::now() };
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                files.delete(&processed.keys()).await;
                return Err(e.into());
            }
        };
        if let Err(e) = insert_rows(&mut conn, account, std::slice::from_ref(&row)).await {
            files.delete(&processed.keys()).await;
            return Err(e);
        }
        let stored = stored_query!("SELECT ", " FROM attachments WHERE id = $1", processed.id.0)
            .fetch_one(&mut *conn)
            .await?;
        Ok(stored.public())
    }

    /// The attachment, if `actor` may see it: they may see its session, and
    /// a message carries it or they uploaded it. Otherwise "not found".
    async fn visible_stored(conn: &mut PgConnection, actor: &Actor, id: AttachmentId) -> Result<Stored> {
        let stored = stored_query!("SELECT ", " FROM attachments WHERE id = $1", id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Error::not_found("attachment"))?;
        let Some(session) = stored.session_id else {
            // Staged for a blast: its account's admins.
            return if actor.is_admin_of(stored.account_id) {
                Ok(stored)
            } else {
                Err(Error::not_found("attachment"))
            };
        };
        match visible(conn, actor, session, Lock::None).await {
            Ok(_) if stored.message_id.is_some() || stored.uploaded_by(actor) => Ok(stored),
            Ok(_) | Err(Error::NotFound { .. }) => Err(Error::not_found("attachment")),
            Err(e) => Err(e),
        }
    }

    /// An attachment's metadata.
    pub async fn get(pool: &PgPool, actor: &Actor, id: AttachmentId) -> Result<Attachment> {
        Ok(visible_stored(&mut *pool.acquire().await?, actor, id).await?.public())
    }

    /// An attachment and its bytes (or its thumbnail's), for `actor`.
    pub async fn open(
        pool: &PgPool,
        files: &Files,
        actor: &Actor,
        id: AttachmentId,
        variant: Variant,
    ) -> Result<(Attachment, Bytes)> {
        let stored = visible_stored(&mut *pool.acquire().await?, actor, id).await?;
        read(files, stored, variant).await
    }

    /// An attachment and its bytes through a signed link.
    pub async fn open_signed(
        pool: &PgPool,
        files: &Files,
        id: AttachmentId,
        variant: Variant,
        expires: i64,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<(Attachment, Bytes)> {
        files.verify(id, variant, expires, signature, now).await?;
        let stored = stored_query!("SELECT ", " FROM attachments WHERE id = $1", id.0)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| Error::not_found("attachment"))?;
        read(files, stored, variant).await
    }

    async fn read(files: &Files, stored: Stored, variant: Variant) -> Result<(Attachment, Bytes)> {
        let key = match variant {
            Variant::File => stored.storage_key.clone(),
            Variant::Thumbnail => {
                stored.thumbnail_key.clone().ok_or_else(|| Error::not_found("thumbnail"))?
            }
        };
        let bytes = files.get(&key).await?;
        Ok((stored.public(), bytes))
    }

    /// Signed links to an attachment `actor` may see.
    pub async fn links(
        pool: &PgPool,
        files: &Files,
        actor: &Actor,
        id: AttachmentId,
        now: DateTime<Utc>,
    ) -> Result<AttachmentLink> {
        files.links(&get(pool, actor, id).await?, now).await
    }

    /// Locks the uploads a message is about to carry and checks them: at
    /// most the account's number, each uploaded into this session by this
    /// sender and carried by no message yet. Returns them in the given order.
    pub(crate) async fn claim(
        conn: &mut PgConnection,
        session: &Session,
        sender: (SenderKind, Option<AgentId>),
        ids: &[AttachmentId],
    ) -> Result<Vec<Attachment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        if unique.len() != ids.len() {
            return Err(Error::invalid("attachment_ids", "an attachment is listed twice"));
        }
        let policy = policy_of(conn, session.account_id).await?;
        if ids.len() > policy.max_per_message as usize {
            return Err(Error::invalid(
                "attachment_ids",
                format!("a message may carry at most {} files", policy.max_per_message),
            ));
        }
        let raw: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = stored_query!("SELECT ", " FROM attachments WHERE id = ANY($1) FOR UPDATE", &raw)
            .fetch_all(&mut *conn)
            .await?;
        let mut by_id: HashMap<AttachmentId, Stored> = rows.into_iter().map(|r| (r.id, r)).collect();
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let usable = by_id.remove(id).filter(|s| {
                s.session_id == Some(session.id)
                    && s.uploader_kind == sender.0
                    && s.uploader_agent_id == sender.1
            });
            let Some(stored) = usable else {
                return Err(Error::invalid(
                    "attachment_ids",
                    format!("attachment {id} is not one of your uploads in this session"),
                ));
            };
            if stored.message_id.is_some() {
                return Err(Error::invalid("attachment_ids", format!("attachment {id} was already sent")));
            }
            claimed.push(stored.public());
        }
        Ok(claimed)
    }

    /// Links claimed uploads to the message that carries them.
    pub(crate) async fn link(
        conn: &mut PgConnection,
        message_id: i64,
        attachments: &mut [Attachment],
    ) -> Result<()> {
        if attachments.is_empty() {
            return Ok(());
        }
        let raw: Vec<uuid::Uuid> = attachments.iter().map(|a| a.id.0).collect();
        sqlx::query!("UPDATE attachments SET message_id = $1 WHERE id = ANY($2)", message_id, &raw)
            .execute(&mut *conn)
            .await?;
        for a in attachments {
            a.message_id = Some(message_id);
        }
        Ok(())
    }

    /// Takes a staged file for a blast being created, in the caller's
    /// transaction: it must be staged in `account` by `author` and taken by
    /// no other blast.
    pub(crate) async fn take_for_blast(
        conn: &mut PgConnection,
        account: AccountId,
        author: AgentId,
        id: AttachmentId,
    ) -> Result<Attachment> {
        let stored = stored_query!("SELECT ", " FROM attachments WHERE id = $1 FOR UPDATE", id.0)
            .fetch_optional(&mut *conn)
            .await?
            .filter(|s| {
                s.account_id == account && s.session_id.is_none() && s.uploader_agent_id == Some(author)
            })
            .ok_or_else(|| {
                Error::invalid(
                    "attachment_id",
                    format!("attachment {id} is not a file you staged for a blast of this account"),
                )
            })?;
        let taken = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM blasts WHERE attachment_id = $1) AS "taken!""#,
            id.0
        )
        .fetch_one(&mut *conn)
        .await?;
        if taken {
            return Err(Error::invalid("attachment_id", format!("attachment {id} went with another blast")));
        }
        Ok(stored.public())
    }

    /// A blast's file for one recipient's message: a row of its own in the
    /// recipient's session, uploaded by the blast's author, naming the same
    /// objects as the staged file (which the blast keeps, so they stay while
    /// any copy does). Unreferenced until the caller's message links it.
    pub(crate) async fn copy_to_session(
        conn: &mut PgConnection,
        staged: AttachmentId,
        session: SessionId,
        author: AgentId,
    ) -> Result<Attachment> {
        let copy = stored_query!(
            "INSERT INTO attachments (account_id, session_id, uploader_kind, uploader_agent_id, file_name,
                 content_type, kind, size_bytes, sha256, storage_key, width, height, thumbnail_key,
                 thumbnail_width, thumbnail_height)
             SELECT account_id, $2, 'agent', $3, file_name, content_type, kind, size_bytes, sha256,
                    storage_key, width, height, thumbnail_key, thumbnail_width, thumbnail_height
             FROM attachments WHERE id = $1 AND session_id IS NULL
             RETURNING ",
            "",
            staged.0,
            session.0,
            author.0
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::internal("blast attachment", format!("staged file {staged} is missing")))?;
        Ok(copy.public())
    }

    /// The attachments of these messages, by message id, in upload order.
    pub(crate) async fn of_messages(
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<Attachment>>> {
        let mut out: HashMap<i64, Vec<Attachment>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let rows = stored_query!(
            "SELECT ",
            " FROM attachments WHERE message_id = ANY($1) ORDER BY created_at, id",
            ids
        )
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            if let Some(message) = row.message_id {
                out.entry(message).or_default().push(row.public());
            }
        }
        Ok(out)
    }

    /// Deletes objects queued in `object_deletions` (by a transaction that
    /// dropped their rows, so that no committed change leaves a file no row
    /// names; or by an import before it stores a file, until the batch that
    /// commits its row takes it off, see `not_before`) from the store, up to
    /// 1,000 at a time, oldest first; one the store refuses stays queued
    /// (its attempts counted) for the next drain. Returns how many went.
    pub async fn drain_deletions(pool: &PgPool, files: &Files) -> Result<u64> {
        let queued = sqlx::query_scalar!(
            "SELECT storage_key FROM object_deletions WHERE not_before <= now()
              ORDER BY queued_at, storage_key LIMIT 1000"
        )
        .fetch_all(pool)
        .await?;
        let mut deleted = Vec::with_capacity(queued.len());
        let mut refused = Vec::new();
        for key in queued {
            match files.try_delete(&key).await {
                Ok(()) => deleted.push(key),
                Err(e) => {
                    tracing::warn!(key, error = %e, "an attachment's object could not be deleted; retrying later");
                    refused.push(key);
                }
            }
        }
        sqlx::query!("DELETE FROM object_deletions WHERE storage_key = ANY($1)", &deleted)
            .execute(pool)
            .await?;
        sqlx::query!(
            "UPDATE object_deletions SET attempts = attempts + 1 WHERE storage_key = ANY($1)",
            &refused
        )
        .execute(pool)
        .await?;
        Ok(deleted.len() as u64)
    }

    /// Removes the attachment rows of `sessions` in the caller's
    /// transaction. Their objects that no other row names (a blast's file
    /// stays for its other recipients) are queued for deletion by the
    /// `attachments_deleted` trigger, for [`drain_deletions`] after commit.
    /// Returns how many rows.
    pub(crate) async fn remove_of_sessions(conn: &mut PgConnection, sessions: &[uuid::Uuid]) -> Result<i64> {
        Ok(sqlx::query!("DELETE FROM attachments WHERE session_id = ANY($1)", sessions)
            .execute(conn)
            .await?
            .rows_affected() as i64)
    }

    /// Removes the uploads that no message referenced within `older_than`
    /// (and no blast took): the rows, then their objects (queued by the
    /// `attachments_deleted` trigger; the queue is drained here too).
    /// Returns how many uploads.
    pub async fn sweep(pool: &PgPool, files: &Files, older_than: chrono::Duration) -> Result<u64> {
        let cutoff = Utc::now() - older_than;
        let removed = sqlx::query!(
            "DELETE FROM attachments
             WHERE id IN (SELECT a.id FROM attachments a
                          WHERE a.message_id IS NULL AND a.created_at < $1
                            AND NOT EXISTS (SELECT 1 FROM blasts b WHERE b.attachment_id = a.id)
                          ORDER BY a.created_at LIMIT 1000 FOR UPDATE OF a SKIP LOCKED)",
            cutoff
        )
        .execute(pool)
        .await?
        .rows_affected();
        drain_deletions(pool, files).await?;
        Ok(removed)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const PNG_1X1: &[u8] = &[
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
            0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
            0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
            0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];

        #[test]
        fn types_come_from_the_bytes() {
            assert_eq!(
                sniff(PNG_1X1),
                Sniffed { content_type: "image/png", kind: Some(AttachmentKind::Image) }
            );
            assert_eq!(sniff(b"%PDF-1.4\n...").kind, Some(AttachmentKind::Pdf));
            assert_eq!(sniff("hello, wörld\n".as_bytes()).content_type, "text/plain");
            assert_eq!(
                sniff(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
                    .content_type,
                "image/svg+xml"
            );
            assert_eq!(sniff(b"<?xml version='1.0'?><svg/>").content_type, "image/svg+xml");
            assert_eq!(sniff(b"#!/bin/sh\nrm -rf /\n").kind, None, "scripts are never accepted");
            assert_eq!(
                sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff").kind,
                None,
                "executables are never accepted"
            );
            assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00").kind, None);
            assert_eq!(sniff(&[0u8, 1, 2, 3, 255, 254]).kind, None, "unknown binary data is refused");
        }

        #[test]
        fn names_and_declared_types_must_agree_with_the_bytes() {
            let policy = AttachmentPolicy::default();
            assert_eq!(
                check(&policy, "shot.png", Some("image/png"), PNG_1X1).ok(),
                Some(("image/png", AttachmentKind::Image))
            );
            assert!(
                check(&policy, "pasted", None, PNG_1X1).is_ok(),
                "a name without extension claims nothing"
            );
            assert!(check(&policy, "notes.csv", Some("text/csv"), b"a,b\n1,2\n").is_ok());
            let lying = check(&policy, "invoice.pdf", None, PNG_1X1).expect_err("png named .pdf");
            assert_eq!(lying.http_status(), 415);
            assert!(lying.to_string().contains("image/png"), "{lying}");
            let header =
                check(&policy, "shot.png", Some("application/pdf"), PNG_1X1).expect_err("declared pdf");
            assert_eq!(header.http_status(), 415);
            let exe = check(&policy, "setup.exe", None, b"plain text in disguise").expect_err("named .exe");
            assert_eq!(exe.http_status(), 415);
        }

        #[test]
        fn limits_are_named_in_their_errors() {
            let policy = AttachmentPolicy { max_bytes: 1024, ..AttachmentPolicy::default() };
            let err = check(&policy, "big.txt", None, &[b'a'; 1025]).expect_err("too large");
            assert_eq!(err.http_status(), 413);
            assert!(err.to_string().contains("1 KiB"), "{err}");
            let pdf_only =
                AttachmentPolicy { kinds: vec![AttachmentKind::Pdf], ..AttachmentPolicy::default() };
            let err = check(&pdf_only, "a.txt", None, b"text").expect_err("text not allowed");
            assert_eq!(err.http_status(), 415);
            assert!(err.to_string().contains("text/plain"), "{err}");
            assert_eq!(check(&policy, "empty.txt", None, b"").expect_err("empty").http_status(), 422);
            assert_eq!(bytes_label(10 * 1024 * 1024), "10 MiB");
        }

        #[test]
        fn file_names_lose_their_directories() {
            assert_eq!(clean_file_name("C:\\fakepath\\report.pdf").ok().as_deref(), Some("report.pdf"));
            assert_eq!(clean_file_name("../../etc/passwd").ok().as_deref(), Some("passwd"));
            assert_eq!(clean_file_name("a\u{0}b\n.txt").ok().as_deref(), Some("ab.txt"));
            assert!(clean_file_name("dir/").is_err());
        }

        #[test]
        fn thumbnails_keep_the_aspect_and_refuse_bombs() {
            let mut png = Vec::new();
            image::DynamicImage::new_rgba8(1000, 500)
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
                .expect("encode");
            let t = thumbnail("image/png", &png).expect("thumbnail");
            assert_eq!((t.width, t.height, t.thumbnail_width, t.thumbnail_height), (1000, 500, 320, 160));
            let small = thumbnail("image/png", PNG_1X1).expect("1x1");
            assert_eq!((small.thumbnail_width, small.thumbnail_height), (1, 1));
            // A real, valid PNG of 20,000 × 1 pixels: it decodes without
            // limits, so only the decoding limits refuse it.
            let mut wide = Vec::new();
            image::DynamicImage::new_luma8(20_000, 1)
                .write_to(&mut Cursor::new(&mut wide), image::ImageFormat::Png)
                .expect("encode");
            assert!(image::load_from_memory(&wide).is_ok(), "the file itself is sound");
            assert_eq!(thumbnail("image/png", &wide).expect_err("too wide").http_status(), 415);
            // A header claiming 100,000 × 100,000 pixels, with its checksum
            // fixed, so that the decoder reads it as valid and only the
            // limits stand between it and a 40 GB allocation.
            let mut bomb = PNG_1X1.to_vec();
            bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
            bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
            assert_eq!(crc32(&PNG_1X1[12..29]), 0x1F15_C489, "the checksum function is PNG's");
            let crc = crc32(&bomb[12..29]);
            bomb[29..33].copy_from_slice(&crc.to_be_bytes());
            let reader = image::ImageReader::new(Cursor::new(&bomb)).with_guessed_format().expect("format");
            assert_eq!(reader.into_dimensions().expect("a valid header"), (100_000, 100_000));
            assert_eq!(thumbnail("image/png", &bomb).expect_err("bomb").http_status(), 415);
        }

        /// PNG's chunk checksum (CRC-32, ISO 3309), for the forged header.
        fn crc32(bytes: &[u8]) -> u32 {
            let mut crc = 0xFFFF_FFFFu32;
            for b in bytes {
                crc ^= u32::from(*b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
                }
            }
            !crc
        }
    }
}
