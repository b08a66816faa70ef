//! A real S3-compatible server for the attachment tests: moto's server
//! (`moto[server]` from PyPI, installed by `scripts/test` into
//! `target/tools/moto`, or wherever `MOTO_SERVER` points). One server per
//! test binary, started on first use and stopped when the binary exits;
//! each test gets a bucket of its own.

use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// The endpoint of this binary's moto server, e.g. `http://127.0.0.1:41234`.
pub fn endpoint() -> &'static str {
    static SERVER: OnceLock<(String, Child)> = OnceLock::new();
    &SERVER.get_or_init(start).0
}

fn start() -> (String, Child) {
    let binary = std::env::var("MOTO_SERVER")
        .unwrap_or_else(|_| format!("{}/../target/tools/moto/bin/moto_server", env!("CARGO_MANIFEST_DIR")));
    assert!(
        std::path::Path::new(&binary).exists(),
        "the S3-compatible test server is missing at {binary}: run scripts/test once (it installs \
         moto[server] there), or point MOTO_SERVER at a moto_server binary"
    );
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    // The shell stops moto when this process's end of its stdin closes, that
    // is when the test binary exits, however it exits.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "\"{binary}\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("moto_server exited ({status}) before it listened");
        }
        assert!(Instant::now() < deadline, "moto_server did not listen on {port} within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    (format!("http://127.0.0.1:{port}"), child)
}

/// A fresh bucket, and the variables that point a server at it.
pub async fn bucket_config() -> Vec<(&'static str, String)> {
    let endpoint = endpoint();
    let bucket = format!("test-{}", uuid::Uuid::new_v4().simple());
    let created =
        reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.expect("create bucket");
    assert!(created.status().is_success(), "create bucket: {}", created.status());
    vec![
        ("ATTACHMENTS_URL", format!("s3://{bucket}/switchboard")),
        ("AWS_ENDPOINT", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
    ]
}

/// How many objects the bucket of `config` holds (under its prefix).
pub async fn object_count(config: &[(&'static str, String)]) -> usize {
    let url = &config.iter().find(|(k, _)| *k == "ATTACHMENTS_URL").expect("url").1;
    let rest = url.trim_start_matches("s3://");
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let listing = reqwest::Client::new()
        .get(format!("{}/{bucket}?list-type=2&prefix={prefix}", endpoint()))
        .send()
        .await
        .expect("list objects")
        .text()
        .await
        .expect("listing");
    listing.matches("<Key>").count()
}
