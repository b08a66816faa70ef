//! Attachments through the REST API, on both stores: every test runs once on
//! the local file system (`local::…`) and once on a real S3-compatible
//! server (`s3::…`, moto's).
//!
//! - customers and agents exchange files: uploaded, referenced by a message,
//!   delivered in the history and the event, downloaded byte-identical;
//! - files that could run in a browser are served so that they cannot;
//! - bad uploads get the right status and store nothing;
//! - a file is visible exactly to those who may see its session, and a
//!   signed link expires;
//! - uploads no message took are removed after a day;
//! - a blast carries one file to every recipient: one object in the store,
//!   a row per recipient's message, kept while any recipient's is;
//! - erasing a customer's data removes their files (and thumbnails) from
//!   the store and their words from the sessions, which stay for reports;
//! - an imported export keeps its messages' files: fetched from their URLs
//!   (or skipped, each with its reason), stored like uploads, and fetched
//!   once however often the file is imported;
//! - with clamd configured, malware is refused and an unreachable scanner
//!   stores nothing (local store only: scanning happens before storage).

mod common;

use std::io::Cursor;

use common::*;
use domain::attachments::{self, Files, Storage};
use reqwest::{Method, Response, StatusCode, header};
use serde_json::{Value, json};
use sha2::Digest as _;
use sqlx::PgPool;

#[derive(Clone, Copy)]
enum Store {
    Local,
    S3,
}

/// Each scenario, on each store.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[sqlx::test(migrator = "domain::db::MIGRATOR")]
                async fn $name(pool: sqlx::PgPool) {
                    super::$name(pool, super::Store::Local).await
                }
            )*
        }
        mod s3 {
            $(
                #[sqlx::test(migrator = "domain::db::MIGRATOR")]
                async fn $name(pool: sqlx::PgPool) {
                    super::$name(pool, super::Store::S3).await
                }
            )*
        }
    };
}

on_both_stores!(
    customers_and_agents_exchange_files,
    files_that_could_run_are_served_so_that_they_cannot,
    bad_uploads_are_refused_and_store_nothing,
    a_file_is_visible_exactly_to_its_session_s_readers,
    uploads_no_message_took_are_removed_after_a_day,
    erasing_a_customer_removes_their_files_and_words,
    a_blast_carries_one_file_to_every_recipient,
    an_import_keeps_its_files,
);

struct Fixture {
    app: Api,
    pool: PgPool,
    storage: Storage,
    store_config: Vec<(&'static str, String)>,
    acme: Account,
    /// Dana, the agent who owns the session.
    agent: String,
    /// The session's customer.
    customer: String,
    session: String,
}

impl Fixture {
    async fn new(pool: PgPool, store: Store) -> Self {
        let store_config = match store {
            Store::Local => Vec::new(),
            Store::S3 => common::s3::bucket_config().await,
        };
        // The import scenario's source serves its files on loopback.
        let mut config_pairs = store_config.clone();
        config_pairs.push(("IMPORT_FETCH_ALLOW_PRIVATE", "1".to_owned()));
        let config = test_config_with(&config_pairs);
        let storage = config.attachments.clone();
        let app = Api { app: spawn_app_with(config, pool.clone()).await };
        let acme = seed_account(&pool, "acme").await;
        let (_, agent) = seed_agent(&pool, Some(&acme), "agent", "Dana").await;
        let (session, customer) = open_chat(&app, &acme, "Casey").await;
        expect(app.post(&format!("/sessions/{session}/assign"), &agent, json!({})).await, StatusCode::OK)
            .await;
        Self { app, pool, storage, store_config, acme, agent, customer, session }
    }

    async fn upload(&self, token: &str, name: &str, mime: Option<&str>, bytes: &[u8]) -> Response {
        upload(&self.app, token, &self.session, name, mime, bytes).await
    }

    /// Uploads, and returns the attachment.
    async fn uploaded(&self, token: &str, name: &str, bytes: &[u8]) -> Value {
        expect(self.upload(token, name, None, bytes).await, StatusCode::CREATED).await
    }

    async fn send(&self, token: &str, body: &str, attachments: &[&Value]) -> Response {
        let ids: Vec<&str> = attachments.iter().map(|a| id(a)).collect();
        let path = format!("/sessions/{}/messages", self.session);
        self.app.post(&path, token, json!({ "body": body, "attachment_ids": ids })).await
    }

    async fn download(&self, token: &str, attachment: &Value) -> Response {
        self.app.get(&format!("/attachments/{}", id(attachment)), token).await
    }

    /// How many objects the store holds.
    async fn objects(&self) -> usize {
        match &self.storage {
            Storage::Local(dir) => files_under(dir),
            Storage::S3 { .. } => common::s3::object_count(&self.store_config).await,
        }
    }

    async fn rows(&self) -> i64 {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM attachments"#)
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }
}

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { files_under(&e.path()) } else { 1 }).sum()
}

/// A customer opens a chat of the account's type; returns the session and
/// the customer's token.
async fn open_chat(app: &Api, account: &Account, name: &str) -> (String, String) {
    let res = app
        .app
        .client
        .post(format!("{}/api/v1/chat/{}/sessions", app.app.base, account.type_slug))
        .json(&json!({ "name": name, "message": "Hello" }))
        .send()
        .await
        .expect("open chat");
    let opened = expect(res, StatusCode::CREATED).await;
    (id(&opened["session"]).to_owned(), opened["token"].as_str().expect("token").to_owned())
}

async fn upload(
    app: &Api,
    token: &str,
    session: &str,
    name: &str,
    mime: Option<&str>,
    bytes: &[u8],
) -> Response {
    let mut part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned());
    if let Some(mime) = mime {
        part = part.mime_str(mime).expect("mime");
    }
    let form = reqwest::multipart::Form::new().part("file", part);
    app.request(Method::POST, &format!("/sessions/{session}/attachments"), token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

fn encode(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    let pixels =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    image::DynamicImage::ImageRgb8(pixels).write_to(&mut Cursor::new(&mut out), format).expect("encode");
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, image::ImageFormat::Png)
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
    2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn header_of(res: &Response, name: header::HeaderName) -> &str {
    res.headers().get(&name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The headers every served file carries.
fn assert_cannot_run(res: &Response) {
    assert_eq!(header_of(res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header_of(res, header::CONTENT_SECURITY_POLICY), "sandbox; default-src 'none'");
}

async fn customers_and_agents_exchange_files(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let shot = png(800, 600);

    // A pasted screenshot (the browser names it image.png) and a PDF.
    let res = f.upload(&f.customer, "image.png", Some("image/png"), &shot).await;
    let image = expect(res, StatusCode::CREATED).await;
    assert_eq!(image["content_type"], "image/png");
    assert_eq!(image["kind"], "image");
    assert_eq!((image["width"].as_i64(), image["height"].as_i64()), (Some(800), Some(600)));
    assert_eq!(
        (image["thumbnail_width"].as_i64(), image["thumbnail_height"].as_i64()),
        (Some(320), Some(240))
    );
    assert_eq!(image["sha256"], sha256(&shot));
    assert_eq!(image["size_bytes"], shot.len());
    assert_eq!(image["message_id"], Value::Null);
    let res = f.upload(&f.customer, "C:\\fakepath\\invoice.pdf", Some("application/pdf"), PDF).await;
    let pdf = expect(res, StatusCode::CREATED).await;
    assert_eq!(pdf["file_name"], "invoice.pdf", "the client's directory is dropped");
    assert_eq!((pdf["kind"].as_str(), pdf["thumbnail_width"].as_i64()), (Some("pdf"), None));

    // Until a message carries them, the uploads are the customer's alone.
    expect_error(f.download(&f.agent, &image).await, StatusCode::NOT_FOUND, "not_found").await;
    let own = f.download(&f.customer, &image).await;
    assert_eq!(own.status(), StatusCode::OK);

    // A message of files alone: no text needed.
    let sent = expect(f.send(&f.customer, "", &[&image, &pdf]).await, StatusCode::CREATED).await;
    assert_eq!(sent["body"], "");
    let carried: Vec<&str> = sent["attachments"].as_array().expect("attachments").iter().map(id).collect();
    assert_eq!(carried, [id(&image), id(&pdf)]);
    let message_id = sent["id"].as_i64().expect("message id");
    assert!(sent["attachments"].as_array().expect("list").iter().all(|a| a["message_id"] == message_id));
    // A message with neither text nor files is still refused.
    let empty = f.send(&f.customer, "  ", &[]).await;
    expect_error(empty, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;

    // The agent's history carries them; so does the event the hub delivers.
    let history =
        expect(f.app.get(&format!("/sessions/{}/messages", f.session), &f.agent).await, StatusCode::OK).await;
    let newest = &history["items"][0];
    assert_eq!(newest["id"], message_id);
    assert_eq!(newest["attachments"][0]["thumbnail_height"], 240);
    assert_eq!(newest["attachments"][1]["file_name"], "invoice.pdf");
    let payload: Value = sqlx::query_scalar!(
        "SELECT payload FROM outbox WHERE topic = 'message.created' AND (payload->>'message_id')::bigint = $1",
        message_id
    )
    .fetch_one(&f.pool)
    .await
    .expect("event");
    assert_eq!(payload["attachments"].as_array().map(Vec::len), Some(2), "{payload}");

    // The agent downloads both: byte-identical, the PDF as a download, the
    // image inline, both unable to run.
    let res = f.download(&f.agent, &pdf).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_TYPE), "application/pdf");
    assert!(header_of(&res, header::CONTENT_DISPOSITION).starts_with("attachment; filename=\"invoice.pdf\""));
    assert_cannot_run(&res);
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), PDF);
    let res = f.download(&f.agent, &image).await;
    assert_eq!(header_of(&res, header::CONTENT_TYPE), "image/png");
    assert!(header_of(&res, header::CONTENT_DISPOSITION).starts_with("inline;"));
    assert_cannot_run(&res);
    assert_eq!(sha256(&res.bytes().await.expect("bytes")), sha256(&shot));
    // The thumbnail is made from the pixels, at the size announced.
    let res = f.app.get(&format!("/attachments/{}/thumbnail", id(&image)), &f.agent).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header_of(&res, header::CONTENT_TYPE), "image/png");
    assert_cannot_run(&res);
    let thumb = image::load_from_memory(&res.bytes().await.expect("bytes")).expect("a decodable thumbnail");
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    // A PDF has no thumbnail.
    let res = f.app.get(&format!("/attachments/{}/thumbnail", id(&pdf)), &f.agent).await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;

    // The agent sends a photo back; the customer sees it in their history.
    let photo = encode(1200, 400, image::ImageFormat::Jpeg);
    let back = f.uploaded(&f.agent, "diagram.jpg", &photo).await;
    assert_eq!(back["content_type"], "image/jpeg");
    assert_eq!((back["thumbnail_width"].as_i64(), back["thumbnail_height"].as_i64()), (Some(320), Some(107)));
    expect(f.send(&f.agent, "Here is the diagram", &[&back]).await, StatusCode::CREATED).await;
    let history =
        expect(f.app.get(&format!("/sessions/{}/messages", f.session), &f.customer).await, StatusCode::OK)
            .await;
    assert_eq!(history["items"][0]["attachments"][0]["id"], back["id"]);
    let res = f.download(&f.customer, &back).await;
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), photo.as_slice());

    // Two images with thumbnails and a PDF: five objects.
    assert_eq!(f.objects().await, 5);
}

async fn files_that_could_run_are_served_so_that_they_cannot(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.domain)</script></svg>"#;
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    // A real PNG with a page appended: a browser that sniffed would run it.
    let mut polyglot = png(4, 4);
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");

    let svg = f.uploaded(&f.customer, "logo.svg", svg).await;
    assert_eq!(
        (svg["content_type"].as_str(), svg["thumbnail_width"].as_i64()),
        (Some("image/svg+xml"), None)
    );
    let html = f.uploaded(&f.customer, "page.html", html).await;
    assert_eq!(html["content_type"], "text/html");
    let polyglot = f.uploaded(&f.customer, "cat.png", &polyglot).await;
    assert_eq!(polyglot["content_type"], "image/png");
    expect(f.send(&f.customer, "files", &[&svg, &html, &polyglot]).await, StatusCode::CREATED).await;

    for (file, content_type, disposition) in [
        (&svg, "image/svg+xml", "attachment;"),
        (&html, "text/html", "attachment;"),
        (&polyglot, "image/png", "inline;"),
    ] {
        let res = f.download(&f.agent, file).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header_of(&res, header::CONTENT_TYPE), content_type);
        assert!(header_of(&res, header::CONTENT_DISPOSITION).starts_with(disposition), "{content_type}");
        assert_cannot_run(&res);
    }
}

async fn bad_uploads_are_refused_and_store_nothing(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let (_, admin) = seed_agent(&f.pool, Some(&f.acme), "admin", "Ada").await;
    let policy = json!({ "max_bytes": 1024, "max_per_message": 2, "kinds": ["image", "pdf"] });
    let path = format!("/accounts/{}/attachment-policy", f.acme.id);
    let saved = expect(f.app.put(&path, &admin, policy).await, StatusCode::OK).await;
    assert_eq!(saved["kinds"], json!(["image", "pdf"]));
    // Agents may not change it; bad values name their field.
    expect_error(f.app.put(&path, &f.agent, saved.clone()).await, StatusCode::FORBIDDEN, "forbidden").await;
    let bad = json!({ "max_bytes": 1024, "max_per_message": 0, "kinds": ["image"] });
    let error =
        expect_error(f.app.put(&path, &admin, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    assert_eq!(error["field"], "max_per_message");

    // Too large: 413, naming the limit.
    let error = expect_error(
        f.upload(&f.customer, "big.png", None, &png(300, 300)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("1 KiB")), "{error}");
    // Executables, kinds the account does not take, and names that lie: 415,
    // naming the type.
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00PE\x00\x00";
    let error = expect_error(
        f.upload(&f.customer, "setup.exe", None, exe).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
    )
    .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("executable")), "{error}");
    let error = expect_error(
        f.upload(&f.customer, "notes.txt", None, b"plain words").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
    )
    .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("text/plain")), "{error}");
    let small = png(4, 4);
    let error = expect_error(
        f.upload(&f.customer, "report.pdf", None, &small).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
    )
    .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("image/png")), "{error}");
    let error = expect_error(
        f.upload(&f.customer, "shot.png", Some("application/pdf"), &small).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_type",
    )
    .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("application/pdf")), "{error}");

    // A broken multipart body, and a form without a file: 400.
    let broken = f
        .app
        .request(Method::POST, &format!("/sessions/{}/attachments", f.session), &f.customer)
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nunterminated",
        )
        .send()
        .await
        .expect("broken");
    expect_error(broken, StatusCode::BAD_REQUEST, "bad_request").await;
    let no_file = f
        .app
        .request(Method::POST, &format!("/sessions/{}/attachments", f.session), &f.customer)
        .multipart(reqwest::multipart::Form::new().text("note", "no file here"))
        .send()
        .await
        .expect("no file");
    expect_error(no_file, StatusCode::BAD_REQUEST, "bad_request").await;
    let not_multipart =
        f.app.post(&format!("/sessions/{}/attachments", f.session), &f.customer, json!({})).await;
    expect_error(not_multipart, StatusCode::BAD_REQUEST, "bad_request").await;

    // Into a session the caller cannot see: 404, whoever they are.
    let (other_session, other_customer) = open_chat(&f.app, &f.acme, "Robin").await;
    let res = upload(&f.app, &other_customer, &f.session, "a.png", None, &small).await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let beta = seed_account(&f.pool, "beta").await;
    let (_, beta_admin) = seed_agent(&f.pool, Some(&beta), "admin", "Bea").await;
    expect_error(f.upload(&beta_admin, "a.png", None, &small).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    assert_eq!((f.rows().await, f.objects().await), (0, 0), "nothing refused was stored");

    // A message may carry only the sender's own uploads of this session, and
    // at most the account's number: 422 naming `attachment_ids`.
    let elsewhere = expect(
        upload(&f.app, &other_customer, &other_session, "a.png", None, &small).await,
        StatusCode::CREATED,
    )
    .await;
    let error = expect_error(
        f.send(&f.customer, "see", &[&elsewhere]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(error["field"], "attachment_ids");
    let mine = [
        f.uploaded(&f.customer, "1.png", &small).await,
        f.uploaded(&f.customer, "2.png", &small).await,
        f.uploaded(&f.customer, "3.png", &small).await,
    ];
    let three: Vec<&Value> = mine.iter().collect();
    let error =
        expect_error(f.send(&f.customer, "three", &three).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("at most 2")), "{error}");
    // The agent cannot send the customer's upload as their own.
    let error = expect_error(
        f.send(&f.agent, "mine now", &[&mine[0]]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(error["field"], "attachment_ids");
    // Nothing was half-sent: no message, no upload taken.
    let taken: i64 =
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM attachments WHERE message_id IS NOT NULL"#)
            .fetch_one(&f.pool)
            .await
            .expect("count");
    assert_eq!(taken, 0);
    // Sent once, an upload cannot be sent again.
    expect(f.send(&f.customer, "two", &[&mine[0], &mine[1]]).await, StatusCode::CREATED).await;
    let error = expect_error(
        f.send(&f.customer, "again", &[&mine[0]]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("already sent")), "{error}");
}

async fn a_file_is_visible_exactly_to_its_session_s_readers(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let shot = f.uploaded(&f.customer, "shot.png", &png(400, 400)).await;
    expect(f.send(&f.customer, "look", &[&shot]).await, StatusCode::CREATED).await;
    let file = format!("/attachments/{}", id(&shot));
    let thumbnail = format!("{file}/thumbnail");
    let links = format!("{file}/links");

    // Those who may see the session see the file.
    let (_, supervisor) = seed_agent(&f.pool, Some(&f.acme), "supervisor", "Sam").await;
    for token in [&f.agent, &f.customer, &supervisor] {
        assert_eq!(f.app.get(&file, token).await.status(), StatusCode::OK);
        assert_eq!(f.app.get(&thumbnail, token).await.status(), StatusCode::OK);
    }
    // Another account's admin, an agent without the type, another session's
    // customer: 404, like an id that exists nowhere; nobody: 401.
    let beta = seed_account(&f.pool, "beta").await;
    let (_, beta_admin) = seed_agent(&f.pool, Some(&beta), "admin", "Bea").await;
    let (no_skill_id, no_skill) = seed_agent(&f.pool, Some(&f.acme), "agent", "Noel").await;
    sqlx::query!("DELETE FROM agent_skills WHERE agent_id = $1", no_skill_id)
        .execute(&f.pool)
        .await
        .expect("skills");
    let (_, other_customer) = open_chat(&f.app, &f.acme, "Robin").await;
    let nowhere = format!("/attachments/{}", uuid::Uuid::new_v4());
    let unknown = expect_error(f.app.get(&nowhere, &f.agent).await, StatusCode::NOT_FOUND, "not_found").await;
    for token in [&beta_admin, &no_skill, &other_customer] {
        for path in [&file, &thumbnail, &links] {
            let error = expect_error(f.app.get(path, token).await, StatusCode::NOT_FOUND, "not_found").await;
            assert_eq!(error, unknown, "{path}: indistinguishable from nothing");
        }
    }
    let anonymous =
        f.app.app.client.get(format!("{}/api/v1{file}", f.app.app.base)).send().await.expect("get");
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // A signed link works without credentials, for an hour; a tampered one
    // is "not found", an expired one says it expired.
    let link = expect(f.app.get(&links, &f.customer).await, StatusCode::OK).await;
    let plain = |url: &str| f.app.app.client.get(format!("{}{url}", f.app.app.base)).send();
    let url = link["url"].as_str().expect("url");
    let res = plain(url).await.expect("signed");
    assert_eq!(res.status(), StatusCode::OK);
    assert_cannot_run(&res);
    let thumb_url = link["thumbnail_url"].as_str().expect("thumbnail url");
    assert_eq!(plain(thumb_url).await.expect("signed thumbnail").status(), StatusCode::OK);
    // The file's signature does not open the thumbnail, nor another file.
    let swapped =
        thumb_url.split('?').next().map(|p| format!("{p}?{}", url.split_once('?').expect("query").1));
    let res = plain(&swapped.expect("swapped")).await.expect("swapped");
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let flipped = if url.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &url[..url.len() - 1]);
    expect_error(plain(&tampered).await.expect("tampered"), StatusCode::NOT_FOUND, "not_found").await;
    let files = Files::connect(&f.pool, &f.storage).await.expect("files");
    let attachment: attachments::Attachment = serde_json::from_value(shot.clone()).expect("attachment");
    let old = files.links(&attachment, chrono::Utc::now() - chrono::Duration::hours(2)).await.expect("links");
    expect_error(plain(&old.url).await.expect("expired"), StatusCode::FORBIDDEN, "forbidden").await;
}

async fn uploads_no_message_took_are_removed_after_a_day(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let sent = f.uploaded(&f.customer, "sent.png", &png(10, 10)).await;
    expect(f.send(&f.customer, "here", &[&sent]).await, StatusCode::CREATED).await;
    let forgotten = f.uploaded(&f.customer, "forgotten.pdf", PDF).await;
    let fresh = f.uploaded(&f.customer, "fresh.pdf", PDF).await;
    assert_eq!(f.objects().await, 4);
    sqlx::query!(
        "UPDATE attachments SET created_at = now() - interval '25 hours' WHERE id <> $1",
        uuid::Uuid::parse_str(id(&fresh)).expect("uuid")
    )
    .execute(&f.pool)
    .await
    .expect("age them");

    let files = Files::connect(&f.pool, &f.storage).await.expect("files");
    let removed = attachments::sweep(&f.pool, &files, attachments::UNREFERENCED_TTL).await.expect("sweep");
    assert_eq!(removed, 1, "only the day-old upload no message took");
    expect_error(f.download(&f.customer, &forgotten).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(f.download(&f.customer, &fresh).await.status(), StatusCode::OK);
    assert_eq!(f.download(&f.agent, &sent).await.status(), StatusCode::OK);
    assert_eq!((f.rows().await, f.objects().await), (2, 3));
}

async fn erasing_a_customer_removes_their_files_and_words(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let (_, admin) = seed_agent(&f.pool, Some(&f.acme), "admin", "Ada").await;
    let globex = seed_account(&f.pool, "globex").await;
    let (_, stranger) = seed_agent(&f.pool, Some(&globex), "admin", "Gus").await;
    let shot = f.uploaded(&f.customer, "image.png", &png(400, 300)).await;
    let pdf = f.uploaded(&f.customer, "invoice.pdf", PDF).await;
    expect(f.send(&f.customer, "My card is 4111 1111 1111 1111", &[&shot, &pdf]).await, StatusCode::CREATED)
        .await;
    let reply = f.uploaded(&f.agent, "steps.pdf", PDF).await;
    expect(f.send(&f.agent, "Thanks Casey, see the steps", &[&reply]).await, StatusCode::CREATED).await;
    let notes = format!("/sessions/{}/notes", f.session);
    expect(
        f.app.post(&notes, &f.agent, json!({ "body": "Casey lives at 1 Main St" })).await,
        StatusCode::CREATED,
    )
    .await;
    // Another customer of the account, whose file must survive.
    let (other_session, other_customer) = open_chat(&f.app, &f.acme, "Robin").await;
    let kept = upload(&f.app, &other_customer, &other_session, "kept.pdf", None, PDF).await;
    let kept = expect(kept, StatusCode::CREATED).await;
    let path = format!("/sessions/{other_session}/messages");
    let res =
        f.app.post(&path, &other_customer, json!({ "body": "mine", "attachment_ids": [id(&kept)] })).await;
    expect(res, StatusCode::CREATED).await;
    assert_eq!((f.rows().await, f.objects().await), (4, 5), "the screenshot has a thumbnail");
    // Mail about each session (the mailer is off here, so written directly),
    // and an event that failed to process.
    let uuid = |s: &str| uuid::Uuid::parse_str(s).expect("uuid");
    let mut conn = f.pool.acquire().await.expect("connection");
    for (session, to) in [(&f.session, "casey@example.test"), (&other_session, "robin@example.test")] {
        let about = Some(domain::types::SessionId(uuid(session)));
        domain::mail_log::enqueue(&mut conn, uuid::Uuid::new_v4(), about, to, "Re: your question", "Hi!")
            .await
            .expect("mail");
    }
    sqlx::query!(
        "INSERT INTO dead_letters (consumer, event_id, topic, payload, error, attempts)
         VALUES ('webhooks', gen_random_uuid(), 'message.created', jsonb_build_object('session_id', $1::text,
                 'body', 'My card is 4111'), 'refused', 3)",
        f.session
    )
    .execute(&mut *conn)
    .await
    .expect("dead letter");

    let session =
        expect(f.app.get(&format!("/sessions/{}", f.session), &f.agent).await, StatusCode::OK).await;
    let customer_id = session["customer_id"].as_str().expect("customer id").to_owned();
    let erase = format!("/customers/{customer_id}");
    // While the session is open, nothing is erased.
    let refused =
        expect_error(f.app.delete(&erase, &admin).await, StatusCode::CONFLICT, "customer_has_open_sessions")
            .await;
    assert!(refused["message"].as_str().expect("message").contains("1 open session"), "{refused}");
    let resolve = format!("/sessions/{}/resolve", f.session);
    expect(f.app.post(&resolve, &f.agent, json!({ "reason_id": f.acme.reason_id })).await, StatusCode::OK)
        .await;
    // Only the account's admins may erase.
    expect_error(f.app.delete(&erase, &f.agent).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(f.app.delete(&erase, &stranger).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_error(f.app.delete(&erase, &f.customer).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!((f.rows().await, f.objects().await), (4, 5), "refusals change nothing");

    let erased = expect(f.app.delete(&erase, &admin).await, StatusCode::OK).await;
    assert_eq!(
        (&erased["sessions"], &erased["messages"], &erased["notes"], &erased["attachments"]),
        (&json!(1), &json!(3), &json!(1), &json!(3)),
        "the greeting, the customer's message and the agent's reply; three files: {erased}"
    );
    assert_eq!((f.rows().await, f.objects().await), (1, 1), "only Robin's file is left, in the store too");
    let queued: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM object_deletions"#)
        .fetch_one(&f.pool)
        .await
        .expect("queue");
    assert_eq!(queued, 0, "every deletion went through");
    let mail = sqlx::query_scalar!("SELECT recipient FROM mail_log").fetch_all(&f.pool).await.expect("mail");
    assert_eq!((mail, &erased["emails"]), (vec!["robin@example.test".to_owned()], &json!(1)));
    let letter =
        sqlx::query_scalar!("SELECT payload FROM dead_letters").fetch_one(&f.pool).await.expect("letter");
    assert_eq!(letter, json!({ "erased": true }));
    for gone in [&shot, &pdf, &reply] {
        expect_error(f.download(&admin, gone).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    let thumbnail = f.app.get(&format!("/attachments/{}/thumbnail", id(&shot)), &admin).await;
    expect_error(thumbnail, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        f.app.get(&format!("/attachments/{}", id(&kept)), &other_customer).await.status(),
        StatusCode::OK
    );

    // The session stays, for the reports, but says nothing of Casey.
    let history =
        expect(f.app.get(&format!("/sessions/{}/messages", f.session), &admin).await, StatusCode::OK).await;
    let items = history["items"].as_array().expect("items");
    assert!(!items.is_empty());
    assert!(items.iter().all(|m| m["body"] == "[erased]" && m["attachments"] == json!([])), "{history}");
    let noted = expect(f.app.get(&notes, &admin).await, StatusCode::OK).await;
    assert_eq!(noted[0]["body"], "[erased]", "{noted}");
    let session = expect(f.app.get(&format!("/sessions/{}", f.session), &admin).await, StatusCode::OK).await;
    assert_eq!(session["status"], "resolved");
    let customer = expect(f.app.get(&erase, &admin).await, StatusCode::OK).await;
    assert_eq!((&customer["name"], &customer["email"]), (&Value::Null, &Value::Null));
    assert_eq!(customer["erased_at"], erased["erased_at"]);
    // Their chat token is gone; Robin's conversation is untouched.
    let own = f.app.get(&format!("/sessions/{}/messages", f.session), &f.customer).await;
    expect_error(own, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let robin = expect(f.app.get(&path, &other_customer).await, StatusCode::OK).await;
    assert_eq!(robin["items"][0]["body"], "mine");
    // Recorded for the audit and for webhook subscribers.
    let audit = expect(f.app.get("/audit-log?action=customer.", &admin).await, StatusCode::OK).await;
    let entries = audit["items"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(
        (&entries[0]["action"], &entries[0]["target"]),
        (&json!("customer.erased"), &json!(customer_id))
    );
    let events: i64 =
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM outbox WHERE topic = 'customer.erased'"#)
            .fetch_one(&f.pool)
            .await
            .expect("events");
    assert_eq!(events, 1);

    // Again: harmless, nothing new.
    let again = expect(f.app.delete(&erase, &admin).await, StatusCode::OK).await;
    assert_eq!((&again["messages"], &again["attachments"]), (&json!(0), &json!(0)));
    assert_eq!(again["erased_at"], erased["erased_at"]);
}

async fn a_blast_carries_one_file_to_every_recipient(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let (_, admin) = seed_agent(&f.pool, Some(&f.acme), "admin", "Ada").await;
    let globex = seed_account(&f.pool, "globex").await;
    let (_, stranger) = seed_agent(&f.pool, Some(&globex), "admin", "Gus").await;
    let (robin_session, robin) = open_chat(&f.app, &f.acme, "Robin").await;
    let stage = |token: String, bytes: &'static [u8]| {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name("moving.pdf"));
        let path = format!("/accounts/{}/attachments", f.acme.id);
        let request = f.app.request(Method::POST, &path, &token).multipart(form);
        async move { request.send().await.expect("stage") }
    };

    // Only the account's admins stage a blast's file; it is in no session.
    expect_error(stage(f.agent.clone(), PDF).await, StatusCode::FORBIDDEN, "forbidden").await;
    expect_error(stage(stranger.clone(), PDF).await, StatusCode::NOT_FOUND, "not_found").await;
    expect_error(stage(f.customer.clone(), PDF).await, StatusCode::FORBIDDEN, "forbidden").await;
    let refused = stage(admin.clone(), b"MZ\x90\x00\x03\x00\x00\x00\x04\x00").await;
    expect_error(refused, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type").await;
    let staged = expect(stage(admin.clone(), PDF).await, StatusCode::CREATED).await;
    assert_eq!(staged["session_id"], Value::Null);
    assert_eq!((f.rows().await, f.objects().await), (1, 1));
    assert_eq!(f.download(&admin, &staged).await.status(), StatusCode::OK, "its admins may look at it");
    for outsider in [&f.customer, &f.agent, &stranger] {
        expect_error(f.download(outsider, &staged).await, StatusCode::NOT_FOUND, "not_found").await;
    }

    // A blast takes it; no other blast may, nor a chat upload go instead.
    let blast = |file: &Value| {
        json!({ "body": "We are moving offices: the details are attached", "rate_per_minute": 100000,
                "segment": { "kind": "support_type", "support_type_id": f.acme.type_id },
                "attachment_id": id(file) })
    };
    let chat_upload = f.uploaded(&f.agent, "steps.pdf", PDF).await;
    let res = f.app.post("/blasts", &admin, blast(&chat_upload)).await;
    let wrong = expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    assert_eq!(wrong["field"], "attachment_id", "{wrong}");
    let created = expect(f.app.post("/blasts", &admin, blast(&staged)).await, StatusCode::CREATED).await;
    assert_eq!(created["attachment_id"], staged["id"]);
    let again = f.app.post("/blasts", &admin, blast(&staged)).await;
    expect_error(again, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;

    let path = format!("/blasts/{}", id(&created));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let progress = expect(f.app.get(&path, &admin).await, StatusCode::OK).await;
        if progress["status"] == "done" {
            assert_eq!((&progress["sent"], &progress["failed"]), (&json!(2), &json!(0)), "{progress}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not done: {progress}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Each recipient's message carries a file of its own session, with the
    // same bytes, and the store holds them once.
    let mut carried = Vec::new();
    for (session, token) in [(&f.session, &f.customer), (&robin_session, &robin)] {
        let history =
            expect(f.app.get(&format!("/sessions/{session}/messages"), token).await, StatusCode::OK).await;
        let newest = &history["items"][0];
        assert_eq!(newest["body"], "We are moving offices: the details are attached", "{history}");
        let file = newest["attachments"][0].clone();
        assert_eq!((&file["session_id"], &file["sha256"]), (&json!(session), &staged["sha256"]));
        let res = f.download(token, &file).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(&res.bytes().await.expect("bytes")[..], PDF);
        carried.push(file);
    }
    assert_ne!(carried[0]["id"], carried[1]["id"]);
    expect_error(f.download(&robin, &carried[0]).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!((f.rows().await, f.objects().await), (4, 2), "the staged file, two copies, the chat upload");

    // Erasing Casey removes Casey's copy, not the object Robin's names; the
    // staged file stays while its blast does, whatever its age.
    let resolve = format!("/sessions/{}/resolve", f.session);
    expect(f.app.post(&resolve, &f.agent, json!({ "reason_id": f.acme.reason_id })).await, StatusCode::OK)
        .await;
    let session =
        expect(f.app.get(&format!("/sessions/{}", f.session), &f.agent).await, StatusCode::OK).await;
    let casey = format!("/customers/{}", session["customer_id"].as_str().expect("customer"));
    let erased = expect(f.app.delete(&casey, &admin).await, StatusCode::OK).await;
    assert_eq!(erased["attachments"], 2, "the blast's copy and the chat upload: {erased}");
    assert_eq!((f.rows().await, f.objects().await), (2, 1));
    let files = Files::connect(&f.pool, &f.storage).await.expect("files");
    let swept = attachments::sweep(&f.pool, &files, chrono::Duration::zero()).await.expect("sweep");
    assert_eq!(swept, 0, "the blast holds its file");
    let res = f.download(&robin, &carried[1]).await;
    assert_eq!(&res.bytes().await.expect("bytes")[..], PDF);
    assert_eq!(f.download(&admin, &staged).await.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn with_a_scanner_malware_is_refused_and_a_silent_scanner_stores_nothing(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let scanned = Api {
        app: spawn_app_with(
            test_config_with(&[("CLAMD_ADDR", common::clamd::addr().to_owned())]),
            pool.clone(),
        )
        .await,
    };
    let (session, customer) = open_chat(&scanned, &acme, "Casey").await;
    let error = expect_error(
        upload(&scanned, &customer, &session, "eicar.txt", None, common::clamd::EICAR).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(error["field"], "file");
    assert!(error["message"].as_str().is_some_and(|m| m.contains(common::clamd::EICAR_SIGNATURE)), "{error}");
    let clean = upload(&scanned, &customer, &session, "notes.txt", None, b"all good").await;
    expect(clean, StatusCode::CREATED).await;

    // A scanner that does not answer: 503, and nothing stored.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let silent = Api {
        app: spawn_app_with(test_config_with(&[("CLAMD_ADDR", closed.to_string())]), pool.clone()).await,
    };
    let res = upload(&silent, &customer, &session, "later.txt", None, b"all good").await;
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let stored: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM attachments"#)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "only the clean file");
}

/// The helpdesk being replaced, as far as its files go: serves a
/// screenshot, an executable and a 404, and counts the screenshot's
/// downloads.
async fn file_source(screenshot: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::{Router, http::StatusCode as S, routing::get};
    use std::sync::{Arc, atomic::AtomicUsize, atomic::Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new()
        .route(
            "/files/screenshot.png",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = screenshot.clone();
                async move { body }
            }),
        )
        .route(
            "/files/tool.exe",
            get(|| async { b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec() }),
        )
        .route("/files/gone.pdf", get(|| async { S::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("file source") });
    (format!("http://{addr}"), hits)
}

async fn an_import_keeps_its_files(pool: PgPool, store: Store) {
    let f = Fixture::new(pool, store).await;
    let (_, admin) = seed_agent(&f.pool, Some(&f.acme), "admin", "Ada").await;
    let screenshot = png(400, 300);
    let (source, hits) = file_source(screenshot.clone()).await;
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(PDF)
    };
    // A Zendesk export: the customer sends a screenshot and a file the
    // source lost; the agent answers with an executable and a PDF carried
    // in the export; an internal note carries a file too. The ticket is in
    // the file twice (exports overlap), which must change nothing.
    let ticket = json!({
        "id": 501, "status": "solved", "group_id": 1, "requester_id": 10, "assignee_id": 20,
        "created_at": "2024-05-02T09:00:00Z", "updated_at": "2024-05-02T10:00:00Z",
        "comments": [
            {"id": 1, "author_id": 10, "public": true, "created_at": "2024-05-02T09:00:00Z",
             "plain_body": "The export fails, see the screenshot",
             "attachments": [
                {"file_name": "screenshot.png", "content_type": "image/png",
                 "content_url": format!("{source}/files/screenshot.png")},
                {"file_name": "gone.pdf", "content_url": format!("{source}/files/gone.pdf")}]},
            {"id": 2, "author_id": 20, "public": true, "created_at": "2024-05-02T09:10:00Z",
             "plain_body": "",
             "attachments": [
                {"file_name": "fix.exe", "content_url": format!("{source}/files/tool.exe")},
                {"file_name": "steps.pdf", "data": b64}]},
            {"id": 3, "author_id": 20, "public": false, "created_at": "2024-05-02T09:11:00Z",
             "plain_body": "Sent the customer the steps",
             "attachments": [{"file_name": "internal.png", "content_url": format!("{source}/files/screenshot.png")}]}
        ]
    });
    let export = json!({
        "tickets": [ticket.clone(), ticket],
        "users": [
            {"id": 10, "name": "Casey Customer", "email": "casey@example.com", "role": "end-user"},
            {"id": 20, "name": "Dana", "email": "dana@acme-billing.test", "role": "agent"}
        ],
        "groups": [{"id": 1, "name": "Billing"}]
    });
    let bytes = serde_json::to_vec(&export).expect("json");
    let upload_export = || {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name("zendesk.json"));
        f.app.request(Method::POST, "/imports?format=zendesk", &admin).multipart(form).send()
    };
    let objects_before = f.objects().await;
    let run = expect(upload_export().await.expect("upload"), StatusCode::CREATED).await;
    // The dry run fetches nothing: it counts the files it will try, and
    // names the note's, which cannot be imported.
    let counts = &run["plan"]["counts"];
    assert_eq!((counts["files"].as_u64(), counts["files_skipped"].as_u64()), (Some(4), Some(1)), "{run}");
    assert_eq!(run["plan"]["file_skips"][0]["file_name"], "internal.png");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    let run_id = id(&run).to_owned();
    expect(f.app.post(&format!("/imports/{run_id}/apply"), &admin, json!({})).await, StatusCode::ACCEPTED)
        .await;
    let done = wait_for_import(&f.app, &admin, &run_id).await;

    // Two files stored: the screenshot (fetched) and the PDF (inline); three
    // not, each with its reason.
    assert_eq!(done["created"], 1, "{done}");
    let mut reasons: Vec<(String, String)> = done["file_skips"]
        .as_array()
        .expect("file skips")
        .iter()
        .map(|s| {
            (
                s["file_name"].as_str().unwrap_or_default().to_owned(),
                s["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, "fix.exe");
    assert!(reasons[0].1.contains("application/"), "the executable is refused by its bytes: {reasons:?}");
    assert_eq!(reasons[1].0, "gone.pdf");
    assert!(reasons[1].1.contains("404"), "{reasons:?}");
    assert_eq!(reasons[2].0, "internal.png");
    assert!(reasons[2].1.contains("note"), "{reasons:?}");
    // Both copies of the repeated ticket were fetched (which one commits is
    // known only then); the unused copy went again (the objects below).
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);

    // The history carries them on their original messages, as any upload.
    let session = sqlx::query_scalar!(
        "SELECT local_id FROM import_map WHERE kind = 'session' AND source_id = 'ticket:501'"
    )
    .fetch_one(&f.pool)
    .await
    .expect("imported session");
    let history =
        expect(f.app.get(&format!("/sessions/{session}/messages?limit=50"), &admin).await, StatusCode::OK)
            .await;
    let items = history["items"].as_array().expect("items");
    let customer = items.iter().find(|m| m["sender_kind"] == "customer").expect("customer message");
    assert_eq!(customer["attachments"].as_array().map(Vec::len), Some(1), "{customer}");
    let shot = &customer["attachments"][0];
    assert_eq!((shot["file_name"].as_str(), shot["width"].as_i64()), (Some("screenshot.png"), Some(400)));
    assert!(
        customer["body"]
            .as_str()
            .unwrap_or_default()
            .ends_with("(Attached in the source, not imported: gone.pdf)"),
        "{customer}"
    );
    assert_eq!(shot["created_at"], customer["created_at"], "the file keeps the message's original time");
    let answer = items.iter().find(|m| m["sender_kind"] == "agent").expect("agent message");
    assert_eq!(answer["attachments"][0]["file_name"], "steps.pdf");
    assert_eq!(answer["body"], "(Attached in the source, not imported: fix.exe)");
    let got = f.download(&admin, shot).await;
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), screenshot.as_slice(), "byte-identical");
    let got = f.download(&admin, &answer["attachments"][0]).await;
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), PDF);
    let thumb = f.app.get(&format!("/attachments/{}/thumbnail", id(shot)), &admin).await;
    assert_eq!(thumb.status(), StatusCode::OK);

    // Exactly their objects are in the store (the repeated ticket's unused
    // copies and the export itself went), and nothing waits in the
    // deletion queue.
    assert_eq!(f.rows().await, 2);
    assert_eq!(
        settled_objects(&f, objects_before + 3).await,
        objects_before + 3,
        "screenshot, its thumbnail, the PDF"
    );
    let queued = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM object_deletions"#)
        .fetch_one(&f.pool)
        .await
        .expect("queue");
    assert_eq!(queued, 0);

    // Importing the same export again creates nothing and fetches nothing.
    let again = expect(upload_export().await.expect("upload"), StatusCode::CREATED).await;
    let again_id = id(&again).to_owned();
    expect(f.app.post(&format!("/imports/{again_id}/apply"), &admin, json!({})).await, StatusCode::ACCEPTED)
        .await;
    let done = wait_for_import(&f.app, &admin, &again_id).await;
    assert_eq!((done["created"].as_i64(), done["matched"].as_i64()), (Some(0), Some(2)), "{done}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2, "nothing fetched again");
    assert_eq!(f.rows().await, 2);
    assert_eq!(settled_objects(&f, objects_before + 3).await, objects_before + 3);
}

/// The store's object count once it reaches `expected`, or after 10 s: a
/// completed run deletes its export file just after it reports completion.
async fn settled_objects(f: &Fixture, expected: usize) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = f.objects().await;
        if n == expected || std::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn wait_for_import(app: &Api, token: &str, run: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let got = expect(app.get(&format!("/imports/{run}"), token).await, StatusCode::OK).await;
        match got["status"].as_str() {
            Some("completed") => return got,
            Some("failed" | "cancelled") => panic!("the import ended {}: {got}", got["status"]),
            _ => {}
        }
        assert!(std::time::Instant::now() < deadline, "still {}: {got}", got["status"]);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
