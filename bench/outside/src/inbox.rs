//! Scenario 4: the agent's inbox page (`/agent`), server-rendered for a
//! signed-in agent with 20 open sessions, beside a static axum handler that
//! returns the same bytes (a child process of this binary:
//! `switchboard-bench-outside static <file>`).
//!
//! Each side gets the same two loads: 200 requests a second, open loop
//! (latency counted from when each request was due, so a slow answer cannot
//! hide the ones queued behind it), and a closed loop of 16 clients for the
//! most requests a second it serves.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, http::header, routing::get};
use serde_json::{Value, json};

use crate::common::{self, Api, Error, percentiles};

/// Serves the bytes of `file` as `text/html` at every path, on a free port
/// of 127.0.0.1 printed on stdout: `switchboard-bench-outside static <file>`.
pub async fn serve(file: &str) -> Result<(), Error> {
    let body: &'static [u8] = std::fs::read(file)?.leak();
    let app = Router::new()
        .fallback(get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?.port());
    axum::serve(listener, app).await?;
    Ok(())
}

/// What one load gave: requests/s served, p50/p99/max in ms, failures.
struct Load {
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    failed: usize,
}

impl Load {
    fn json(&self) -> Value {
        json!({ "req_per_s": self.rate, "p50_ms": self.p50, "p99_ms": self.p99, "max_ms": self.max,
                "failed": self.failed })
    }
}

/// One GET of `url`; `Ok` when it answered 200 with a body.
async fn fetch(http: &reqwest::Client, url: &str, cookie: Option<&str>) -> Result<(), String> {
    let mut req = http.get(url);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 200 || body.is_empty() {
        return Err(format!("{status}, {} bytes", body.len()));
    }
    Ok(())
}

/// `rate` requests a second for `secs`, each on time whatever the others do.
async fn open_loop(http: &reqwest::Client, url: &str, cookie: Option<&str>, rate: u32, secs: u64) -> Load {
    let times = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(0usize));
    let every = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = tokio::time::Instant::now();
    let total = rate as u64 * secs;
    let mut pending = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + every * n as u32;
        tokio::time::sleep_until(due).await;
        let (http, url, cookie) = (http.clone(), url.to_owned(), cookie.map(str::to_owned));
        let (times, failed) = (times.clone(), failed.clone());
        pending.push(tokio::spawn(async move {
            match fetch(&http, &url, cookie.as_deref()).await {
                Ok(()) => times.lock().expect("times").push(due.elapsed()),
                Err(_) => *failed.lock().expect("failed") += 1,
            }
        }));
    }
    for p in pending {
        let _ = p.await;
    }
    let took = start.elapsed().as_secs_f64();
    let times = std::mem::take(&mut *times.lock().expect("times"));
    let served = times.len();
    let (p50, p99, max) = percentiles(times);
    let failed = *failed.lock().expect("failed");
    Load { rate: served as f64 / took, p50, p99, max, failed }
}

/// `clients` requests at a time for `secs`: the most it serves.
async fn closed_loop(
    http: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    clients: usize,
    secs: u64,
) -> Load {
    let end = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (http, url, cookie) = (http.clone(), url.to_owned(), cookie.map(str::to_owned));
        workers.push(tokio::spawn(async move {
            let (mut times, mut failed) = (Vec::new(), 0usize);
            while Instant::now() < end {
                let sent = Instant::now();
                match fetch(&http, &url, cookie.as_deref()).await {
                    Ok(()) => times.push(sent.elapsed()),
                    Err(_) => failed += 1,
                }
            }
            (times, failed)
        }));
    }
    let (mut times, mut failed) = (Vec::new(), 0);
    for w in workers {
        if let Ok((t, f)) = w.await {
            times.extend(t);
            failed += f;
        }
    }
    let took = start.elapsed().as_secs_f64();
    let served = times.len();
    let (p50, p99, max) = percentiles(times);
    Load { rate: served as f64 / took, p50, p99, max, failed }
}

/// Scenario 4. Returns the figure, the raw limit, the ratio and the data.
pub async fn inbox_page(
    api: &Api,
    admin: &str,
    account: &str,
    n: usize,
    secs: u64,
) -> Result<(String, String, String, Value), Error> {
    // An agent with a password (to sign in as a browser does) who alone
    // serves a type, and 20 chats of that type: all assigned to them.
    let ty = common::support_type(api, admin, account, "bench-inbox").await?;
    let email = format!("agent{n}@bench.test");
    let password = format!("bench-password-{n}-{}", std::process::id());
    let (agent_id, _) = common::agent(api, admin, account, n, 20, &[ty], Some(&password)).await?;
    let mut sessions = Vec::new();
    for _ in 0..20 {
        let (session, _) = common::open_chat(api, "bench-inbox", "Hello, where is my parcel?").await?;
        let owner = common::owner_of(api, admin, &session).await?;
        if owner != agent_id {
            return Err(format!("chat {session} went to {owner:?}, not the inbox's agent").into());
        }
        sessions.push(session);
    }

    // Signed in as a browser is: the login endpoint, same-origin, a cookie.
    let login = api
        .http
        .post(format!("{}/api/v1/auth/login", api.base))
        .header(header::ORIGIN, &api.base)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?;
    if !login.status().is_success() {
        return Err(format!("sign-in: {}", login.status()).into());
    }
    let cookie = login
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    if cookie.is_empty() {
        return Err("sign-in set no cookie".into());
    }
    let url = format!("{}/agent", api.base);
    let page = api.http.get(&url).header(header::COOKIE, &cookie).send().await?;
    if page.status().as_u16() != 200 {
        return Err(format!("GET /agent: {}", page.status()).into());
    }
    let body = page.bytes().await?;
    let html = String::from_utf8_lossy(&body);
    let missing = sessions.iter().filter(|s| !html.contains(s.as_str())).count();
    if missing > 0 {
        return Err(format!("the inbox page lists {} of the agent's 20 sessions", 20 - missing).into());
    }

    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let product = open_loop(&http, &url, Some(&cookie), 200, secs).await;
    let product_max = closed_loop(&http, &url, Some(&cookie), 16, secs.div_ceil(2)).await;

    // The same bytes from a static axum handler.
    let file = std::env::temp_dir().join(format!("switchboard-bench-inbox-{}.html", std::process::id()));
    std::fs::write(&file, &body)?;
    let (child, port) = common::child(&["static".as_ref(), file.as_os_str()]).await?;
    let raw_url = format!("http://127.0.0.1:{port}/agent");
    let raw = open_loop(&http, &raw_url, None, 200, secs).await;
    let raw_max = closed_loop(&http, &raw_url, None, 16, secs.div_ceil(2)).await;
    drop(child);
    let _ = std::fs::remove_file(&file);

    let kib = body.len() as f64 / 1024.0;
    let figure = format!(
        "200 req/s offered for {secs} s: {:.0} req/s served, p50 {:.1} / p99 {:.1} / max {:.0} ms, {} failed; \
         at most {:.0} req/s (16 clients, p99 {:.1} ms); page {kib:.0} KiB listing the 20 sessions",
        product.rate,
        product.p50,
        product.p99,
        product.max,
        product.failed + product_max.failed,
        product_max.rate,
        product_max.p99,
    );
    let raw_text = format!(
        "static axum handler, the same bytes: p99 {:.1} ms at 200 req/s; at most {:.0} req/s",
        raw.p99, raw_max.rate
    );
    let ratio =
        format!("p99 {:.1}× raw; {:.2}× raw's req/s", product.p99 / raw.p99, product_max.rate / raw_max.rate);
    let data = json!({
        "page_bytes": body.len(),
        "product": { "at_200": product.json(), "closed_16": product_max.json() },
        "raw": { "at_200": raw.json(), "closed_16": raw_max.json() },
    });
    Ok((figure, raw_text, ratio, data))
}
