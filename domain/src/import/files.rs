//! The files of imported messages: fetched from the URLs an export names
//! (through the one SSRF guard, [`crate::outbound`]) or read from the
//! export itself, checked like any upload (the account's limits, the type
//! sniffed from the bytes, the virus scanner), and stored before their
//! batch's transaction. Each file's objects are queued for deletion (not
//! before a day has passed) before they are stored, and the batch that
//! commits their rows takes them off the queue, so a crash, a refused batch
//! or a skipped conversation leaves no file that no row names.
//!
//! A file that cannot be had (unreachable, refused by the account's
//! limits, an executable, on an internal note) never keeps its
//! conversation out: it is listed with its reason on the run. What would
//! make every file fail the same way (the store or the scanner down) stops
//! the run instead, resumable like any interruption.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use sqlx::PgPool;

use super::parse::{FileRef, FileSource};
use crate::{
    Error, Result,
    attachments::{self, AttachmentPolicy, Files, NewUpload, Processed},
    outbound,
};

/// The longest a single file may take to arrive.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
pub const MAX_REDIRECTS: usize = 5;
/// How long a stored file may wait for its batch to commit its row before
/// the sweep deletes it.
const UNCOMMITTED_TTL_SECS: f64 = 24.0 * 3600.0;
/// How long one batch may spend fetching its files; the rest of the
/// batch's files are listed as not fetched. Far inside the queue's day, so
/// a file stored early in a slow batch is never swept before its row
/// commits.
pub const FETCH_BUDGET: Duration = Duration::from_secs(3600);

/// Fetches the files an export links to.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("allow_private", &self.allow_private).finish()
    }
}

impl Fetcher {
    /// `allow_private`: fetch from internal addresses too (a self-hosted
    /// helpdesk on the company's network; `IMPORT_FETCH_ALLOW_PRIVATE`).
    pub fn new(allow_private: bool) -> Self {
        let allow: outbound::Allowance = Arc::new(move || allow_private);
        let client = outbound::client(
            reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .connect_timeout(Duration::from_secs(10))
                .redirect(outbound::checked_redirects(MAX_REDIRECTS, allow.clone()))
                .user_agent(concat!("Switchboard-Import/", env!("CARGO_PKG_VERSION"))),
            allow,
        );
        Self { client, allow_private }
    }

    /// The bytes at `url`, refused past `max` of them (by the announced
    /// length, and while reading). The error is the reason, for the list
    /// of skipped files.
    pub async fn fetch(&self, url: &str, max: i64) -> std::result::Result<Bytes, String> {
        let refused = if self.allow_private {
            crate::webhooks::parse_url(url).is_none().then(|| "refused: not an http(s) URL".to_owned())
        } else {
            outbound::refusal(url)
        };
        if let Some(why) = refused {
            return Err(why);
        }
        let mut res = self.client.get(url).send().await.map_err(outbound::describe)?;
        if !res.status().is_success() {
            return Err(format!("the source answered HTTP {}", res.status()));
        }
        let too_large = || too_large(max);
        if res.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut buf = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(outbound::describe)? {
            if buf.len() + chunk.len() > max as usize {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.is_empty() {
            return Err("the source sent an empty file".into());
        }
        Ok(Bytes::from(buf))
    }
}

fn too_large(max: i64) -> String {
    format!("larger than this account's limit of {}", attachments::bytes_label(max))
}

static ALLOW_PRIVATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether imports may fetch files from loopback and private addresses (a
/// self-hosted helpdesk on the company's network):
/// `IMPORT_FETCH_ALLOW_PRIVATE=1`. Off by default.
pub fn allow_private_sources(allow: bool) {
    ALLOW_PRIVATE.store(allow, std::sync::atomic::Ordering::Relaxed);
}

impl Fetcher {
    /// A fetcher with the process's setting ([`allow_private_sources`]).
    pub fn configured() -> Self {
        Self::new(ALLOW_PRIVATE.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Where an import puts its files, and how it fetches them.
#[derive(Clone, Debug)]
pub struct ImportFiles {
    pub store: Files,
    pub fetcher: Fetcher,
}

impl ImportFiles {
    /// `store` with the process's fetching setting.
    pub fn configured(store: &Files) -> Self {
        Self { store: store.clone(), fetcher: Fetcher::configured() }
    }
}

/// One file of an imported message, had, checked and stored, its objects
/// queued for deletion until a batch commits its row. `Ok(Err(reason))`
/// is a file to list as skipped; `Err` stops the run (the store, the
/// scanner or the database is unavailable).
pub(crate) async fn obtain(
    pool: &PgPool,
    files: &ImportFiles,
    policy: &AttachmentPolicy,
    key_prefix: &str,
    file: &FileRef,
) -> Result<std::result::Result<Processed, String>> {
    let bytes = match &file.source {
        FileSource::Unavailable(why) => return Ok(Err(why.clone())),
        FileSource::Inline(b) if b.len() as i64 > policy.max_bytes => {
            return Ok(Err(too_large(policy.max_bytes)));
        }
        FileSource::Inline(b) => Bytes::from(b.clone()),
        FileSource::Url(url) => match files.fetcher.fetch(url, policy.max_bytes).await {
            Ok(b) => b,
            Err(why) => return Ok(Err(why)),
        },
    };
    let upload = NewUpload { file_name: file.name.clone(), declared_type: file.declared_type.clone(), bytes };
    let mut processed = match attachments::process(&files.store, policy, key_prefix, upload).await {
        Ok(p) => p,
        Err(e @ (Error::Unavailable { .. } | Error::Internal { .. })) => return Err(e),
        Err(e) => return Ok(Err(e.to_string())),
    };
    queue(pool, &processed.keys()).await?;
    attachments::put_processed(&files.store, &processed).await?;
    processed.release();
    Ok(Ok(processed))
}

/// Queues objects about to be stored, for deletion after a day unless a
/// committed batch takes them off first ([`committed`]).
async fn queue(pool: &PgPool, keys: &[String]) -> Result<()> {
    sqlx::query!(
        "INSERT INTO object_deletions (storage_key, not_before)
         SELECT k, now() + make_interval(secs => $2) FROM UNNEST($1::text[]) k
         ON CONFLICT (storage_key) DO UPDATE SET not_before = EXCLUDED.not_before",
        keys,
        UNCOMMITTED_TTL_SECS
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// In the batch's transaction: these objects now have rows; keep them.
pub(crate) async fn committed(conn: &mut sqlx::PgConnection, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query!("DELETE FROM object_deletions WHERE storage_key = ANY($1)", keys).execute(conn).await?;
    Ok(())
}

/// Objects stored for conversations that did not commit (skipped or
/// refused): due for deletion now, and deleted.
pub(crate) async fn discard(pool: &PgPool, store: &Files, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query!("UPDATE object_deletions SET not_before = now() WHERE storage_key = ANY($1)", keys)
        .execute(pool)
        .await?;
    attachments::drain_deletions(pool, store).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_addresses_are_refused_unless_allowed() {
        let fetcher = Fetcher::new(false);
        let why = fetcher.fetch("http://127.0.0.1:9/x.png", 1024).await.expect_err("loopback literal");
        assert!(why.contains("private address (127.0.0.1)"), "{why}");
        let why = fetcher.fetch("http://[::ffff:10.0.0.1]/x", 1024).await.expect_err("mapped private");
        assert!(why.contains("private address"), "{why}");
        let why = fetcher.fetch("http://localhost:9/x.png", 1024).await.expect_err("a name for loopback");
        assert!(why.contains("resolves to a private address"), "{why}");
        let why = fetcher.fetch("file:///etc/passwd", 1024).await.expect_err("not http");
        assert!(why.contains("not an http(s) URL"), "{why}");
        // Allowed, the guard steps aside and the request is made (nothing
        // listens on port 9, so it fails to connect instead).
        let why = Fetcher::new(true).fetch("http://127.0.0.1:9/x.png", 1024).await.expect_err("closed port");
        assert!(!why.contains("refused: "), "{why}");
    }
}
