//! What every scenario shares: the public API, percentiles, and the meters
//! that read the server's and PostgreSQL's CPU and memory from `/proc`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message as Frame, client::IntoClientRequest, http::HeaderValue},
};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The public API with one credential.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let mut req =
            self.http.request(method.clone(), format!("{}/api/v1{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await?;
        if !status.is_success() {
            return Err(format!("{method} {path}: {status}: {text}").into());
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Result<Value, Error> {
        self.call(reqwest::Method::POST, token, path, Some(body)).await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> Result<Value, Error> {
        self.call(reqwest::Method::PUT, token, path, Some(body)).await
    }
}

pub fn id(v: &Value) -> Result<String, Error> {
    v["id"].as_str().map(str::to_owned).ok_or_else(|| format!("no id in {v}").into())
}

pub fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set (scripts/bench sets it)").into())
}

/// Transactions per second of pgbench running `script` on `db` with 8
/// clients for `secs` seconds: the raw limits beside the product's figures.
pub fn pgbench_tps(db: &str, script: &str, secs: u32) -> Result<f64, Error> {
    let out = std::process::Command::new("pgbench")
        .args(["-n", "-c", "8", "-j", "2", "-T", &secs.to_string(), "-f", script, db])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("pgbench failed: {}{}", text, String::from_utf8_lossy(&out.stderr)).into());
    }
    text.lines()
        .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no tps in pgbench's output: {text}").into())
}

/// p50/p99/max of a set of durations, in milliseconds.
pub fn percentiles(mut values: Vec<Duration>) -> (f64, f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    values.sort();
    let at = |q: f64| values[((values.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99), at(1.0))
}

/// CPU time (user + system) of the processes that `pick` selects by
/// command name, read from `/proc`: the server, PostgreSQL's backends.
fn cpu_seconds(pick: impl Fn(u32, &str) -> bool) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let Ok(dir) = std::fs::read_dir("/proc") else { return f64::NAN };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, rest) = stat.rsplit_once(") ")?;
        let comm = head.split_once(" (")?.1;
        if !pick(pid, comm) {
            return None;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some(ticks / tick)
    })
    .sum()
}

/// Cores busy per process group over a measured stretch: the server,
/// PostgreSQL, and this client.
pub struct CpuMeter {
    server_pid: Option<u32>,
    at: Instant,
    start: [f64; 3],
}

impl CpuMeter {
    fn read(server_pid: Option<u32>) -> [f64; 3] {
        let me = std::process::id();
        [
            server_pid.map_or(f64::NAN, |p| cpu_seconds(|pid, _| pid == p)),
            cpu_seconds(|_, comm| comm == "postgres"),
            cpu_seconds(|pid, _| pid == me),
        ]
    }

    pub fn start() -> Self {
        let server_pid = server_pid();
        Self { server_pid, at: Instant::now(), start: Self::read(server_pid) }
    }

    /// "server 0.9, PostgreSQL 0.8, client 0.2 cores" since `start`.
    pub fn busy(&self) -> ([f64; 3], String) {
        let now = Self::read(self.server_pid);
        let secs = self.at.elapsed().as_secs_f64();
        let cores = [0, 1, 2].map(|i| (now[i] - self.start[i]) / secs);
        (
            cores,
            format!("server {:.2}, PostgreSQL {:.2}, client {:.2} cores busy", cores[0], cores[1], cores[2]),
        )
    }
}

/// The server's resident memory, from `/proc/{pid}/status` (`VmRSS`), in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no VmRSS for process {pid}"))?;
    Ok(kib * 1024)
}

/// The server process's id (`BENCH_SERVER_PID`).
pub fn server_pid() -> Option<u32> {
    std::env::var("BENCH_SERVER_PID").ok().and_then(|p| p.parse().ok())
}

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to the hub, said hello to. An agent is known by its bearer
/// token at the upgrade; a customer puts its chat token in the hello.
pub async fn connect(
    api: &Api,
    agent_token: Option<&str>,
    customer_token: Option<&str>,
) -> Result<Socket, Error> {
    let mut request = format!("{}/ws", api.base.replacen("http", "ws", 1)).into_client_request()?;
    if let Some(token) = agent_token {
        request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let hello = match customer_token {
        Some(token) => json!({ "type": "hello", "token": token }),
        None => json!({ "type": "hello" }),
    };
    socket.send(Frame::text(hello.to_string())).await?;
    Ok(socket)
}

/// Reads frames until the hub's `welcome`, which follows an accepted hello.
pub async fn welcomed(socket: &mut Socket) -> Result<(), Error> {
    while let Some(frame) = socket.next().await {
        if let Frame::Text(text) = frame? {
            let v: Value = serde_json::from_str(&text)?;
            if v["type"] == "welcome" {
                return Ok(());
            }
        }
    }
    Err("the socket closed before its welcome".into())
}

/// A new agent of `account` (`agent{n}@bench.test`, with `password` if
/// given, to sign in as a browser does) with its skills, online, and its
/// API token.
pub async fn agent(
    api: &Api,
    admin: &str,
    account: &str,
    n: usize,
    limit: usize,
    types: &[String],
    password: Option<&str>,
) -> Result<(String, String), Error> {
    let agent = api
        .post(
            admin,
            "/agents",
            json!({ "account_id": account, "email": format!("agent{n}@bench.test"),
                    "display_name": format!("Agent {n}"), "role": "agent", "max_concurrent": limit,
                    "password": password }),
        )
        .await?;
    let agent_id = id(&agent)?;
    let skills: Vec<Value> = types.iter().map(|t| json!({ "support_type_id": t })).collect();
    api.put(admin, &format!("/agents/{agent_id}/skills"), json!(skills)).await?;
    let token =
        api.post(admin, &format!("/agents/{agent_id}/tokens"), json!({ "label": "bench" })).await?["secret"]
            .as_str()
            .ok_or("no token secret")?
            .to_owned();
    api.put(&token, &format!("/agents/{agent_id}/presence"), json!({ "presence": "online" })).await?;
    Ok((agent_id, token))
}

/// A new round-robin support type of `account`; its id.
pub async fn support_type(api: &Api, admin: &str, account: &str, slug: &str) -> Result<String, Error> {
    id(&api
        .post(
            admin,
            "/support-types",
            json!({ "account_id": account, "slug": slug, "name": slug,
                    "routing": "round_robin", "reason_required": false }),
        )
        .await?)
}

/// A customer opens a chat of type `slug`: the session's id and the
/// customer's chat token. (The customer's view names no agent id: who took
/// the chat is [`owner_of`].)
pub async fn open_chat(api: &Api, slug: &str, message: &str) -> Result<(String, String), Error> {
    let res = api
        .http
        .post(format!("{}/api/v1/chat/{slug}/sessions", api.base))
        .json(&json!({ "message": message }))
        .send()
        .await?;
    let body = created(res, "open").await?;
    let session = body["session"]["id"].as_str().ok_or("no session id")?.to_owned();
    let token = body["token"].as_str().ok_or("no chat token")?.to_owned();
    Ok((session, token))
}

/// Who has `session`, asked as the admin until someone does (assigned at
/// open, or soon after by the engine); at most 60 s.
pub async fn owner_of(api: &Api, admin: &str, session: &str) -> Result<String, Error> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = api.call(reqwest::Method::GET, admin, &format!("/sessions/{session}"), None).await?;
        if let Some(owner) = s["owner_id"].as_str() {
            return Ok(owner.to_owned());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("session {session} was not assigned within 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts this binary again as `args` (a raw-limit server) and reads the
/// port it printed on its first line. The child dies with its handle.
pub async fn child(args: &[&std::ffi::OsStr]) -> Result<(tokio::process::Child, String), Error> {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("the child has no stdout")?;
    let port =
        tokio::io::BufReader::new(stdout).lines().next_line().await?.ok_or("the child printed no port")?;
    Ok((child, port.trim().to_owned()))
}

/// `n` operations, `workers` at a time (each worker takes the next index):
/// every operation's latency, and how long they all took.
pub async fn concurrently<F, Fut>(n: usize, workers: usize, op: F) -> Result<(Vec<Duration>, Duration), Error>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Error>> + Send,
{
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..workers.min(n) {
        let (op, next) = (op.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, Error>(times);
                }
                let t = Instant::now();
                op(i).await?;
                times.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for h in handles {
        all.extend(h.await??);
    }
    Ok((all, started.elapsed()))
}

/// The JSON body of a response that must be 201 Created; otherwise an
/// error naming `what`, the status and the body.
pub async fn created(res: reqwest::Response, what: &str) -> Result<Value, Error> {
    let status = res.status();
    let body: Value = res.json().await?;
    if status.as_u16() != 201 {
        return Err(format!("{what}: {status}: {body}").into());
    }
    Ok(body)
}
