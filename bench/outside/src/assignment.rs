//! Scenario 1: assignment through the product, beside pgbench running the
//! same open+assign SQL.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::common::{self, Api, CpuMeter, Error, percentiles};

/// The raw limit of scenario 1: pgbench runs `raw/open_assign.sql`, the SQL
/// of an open that is assigned at once, for `secs` seconds. Transactions per
/// second.
pub fn raw_limit(db: &str, secs: u32) -> Result<f64, Error> {
    common::pgbench_tps(db, concat!(env!("CARGO_MANIFEST_DIR"), "/raw/open_assign.sql"), secs)
}

/// What the agents' sockets saw: when each session's assignment arrived,
/// and the server's own open→assigned time from the resolve response.
#[derive(Default)]
struct Seen {
    received: HashMap<String, Instant>,
    server: Vec<Duration>,
    failures: Vec<String>,
}

/// Scenario 1: `agents` new agents go online (REST presence, a WebSocket
/// each); `clients` customers open `sessions` chats over the public chat
/// endpoint; each agent resolves what it is given as its socket announces
/// it. Returns the figure, the assignments per second and the raw data.
#[allow(clippy::too_many_arguments)]
pub async fn assignment(
    api: &Api,
    admin: &str,
    account: &str,
    types: &[String],
    first: usize,
    agents: usize,
    sessions: usize,
    clients: usize,
) -> Result<(String, f64, Value), Error> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut sockets = Vec::new();
    for n in first..first + agents {
        let (agent_id, token) = common::agent(api, admin, account, n, 1 + n % 3, types, None).await?;
        sockets.push(tokio::spawn(work_as_agent(api.clone(), token, agent_id, seen.clone(), stop.clone())));
    }
    // Every socket has had its welcome before the first chat opens.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let cpu = CpuMeter::start();
    let gate = Arc::new(Semaphore::new(clients));
    let opened = Arc::new(Mutex::new(HashMap::<String, Instant>::new()));
    let started = Instant::now();
    let mut customers = Vec::with_capacity(sessions);
    for n in 0..sessions {
        let permit = gate.clone().acquire_owned().await?;
        let (api, opened) = (api.clone(), opened.clone());
        let slug = format!("bench-{}", n % types.len());
        customers.push(tokio::spawn(async move {
            let _permit = permit;
            let sent = Instant::now();
            let (session, _) = common::open_chat(&api, &slug, "Hello, I need help with my order")
                .await
                .map_err(|e| e.to_string())?;
            opened.lock().expect("opened").insert(session, sent);
            Ok::<_, String>(())
        }));
    }
    let mut open_errors = Vec::new();
    for c in customers {
        if let Err(e) = c.await? {
            open_errors.push(e);
        }
    }
    let opened_in = started.elapsed();
    // Wait until every opened session's assignment reached its agent.
    let want = opened.lock().expect("opened").len();
    let deadline = Instant::now() + Duration::from_secs(180);
    while seen.lock().expect("seen").received.len() < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (cores, busy) = cpu.busy();
    stop.notify_waiters();
    for s in sockets {
        s.abort();
    }

    let seen = seen.lock().expect("seen");
    let opened = opened.lock().expect("opened");
    let last = seen.received.values().max().copied().unwrap_or(started);
    let took = last.saturating_duration_since(started);
    let assigned = seen.received.len();
    let rate = assigned as f64 / took.as_secs_f64();
    let socket: Vec<Duration> = opened
        .iter()
        .filter_map(|(s, sent)| Some(seen.received.get(s)?.saturating_duration_since(*sent)))
        .collect();
    let (s50, s99, smax) = percentiles(socket);
    let (v50, v99, vmax) = percentiles(seen.server.clone());
    if !open_errors.is_empty() || !seen.failures.is_empty() || assigned < want {
        eprintln!(
            "scenario 1: {} opens failed (first: {:?}); {} agent calls failed (first: {:?}); {assigned}/{want} assignments seen",
            open_errors.len(),
            open_errors.first(),
            seen.failures.len(),
            seen.failures.first()
        );
    }
    let figure = format!(
        "{rate:.0} assignments/s ({assigned}/{want} in {:.1} s; opens took {:.1} s); open→assigned p50 {v50:.1} / p99 {v99:.1} / max {vmax:.0} ms (server timestamps), open request → agent's socket p50 {s50:.1} / p99 {s99:.1} / max {smax:.0} ms; {busy}",
        took.as_secs_f64(),
        opened_in.as_secs_f64()
    );
    let data = json!({
        "assignments_per_s": rate, "assigned": assigned, "opened": want, "open_errors": open_errors.len(),
        "server_ms": { "p50": v50, "p99": v99, "max": vmax }, "socket_ms": { "p50": s50, "p99": s99, "max": smax },
        "cores_busy": { "server": cores[0], "postgres": cores[1], "client": cores[2] },
    });
    Ok((figure, rate, data))
}

/// One agent: a socket that announces its assignments; each is resolved at
/// once over REST, which frees the slot for the next one. Heartbeats keep
/// the agent online.
async fn work_as_agent(
    api: Api,
    token: String,
    agent_id: String,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<tokio::sync::Notify>,
) {
    if let Err(e) = agent_loop(&api, &token, &agent_id, seen.clone(), &stop).await {
        seen.lock().expect("seen").failures.push(format!("agent {agent_id}: {e}"));
    }
}

async fn agent_loop(
    api: &Api,
    token: &str,
    agent_id: &str,
    seen: Arc<Mutex<Seen>>,
    stop: &tokio::sync::Notify,
) -> Result<(), Error> {
    let mut rx = common::connect(api, Some(token), None).await?;
    let mut heartbeat = tokio::time::interval(Duration::from_secs(10));
    loop {
        let frame = tokio::select! {
            () = stop.notified() => return Ok(()),
            _ = heartbeat.tick() => {
                api.post(token, &format!("/agents/{agent_id}/heartbeat"), json!({})).await?;
                continue;
            }
            frame = rx.next() => frame,
        };
        let Some(frame) = frame else { return Err("socket closed".into()) };
        let Frame::Text(text) = frame? else { continue };
        let at = Instant::now();
        let v: Value = serde_json::from_str(&text)?;
        if v["type"] != "session" || v["topic"] != "session.assigned" || v["session"]["owner_id"] != agent_id
        {
            continue;
        }
        let session = v["session"]["id"].as_str().ok_or("no session id")?.to_owned();
        {
            let mut seen = seen.lock().expect("seen");
            if seen.received.insert(session.clone(), at).is_some() {
                continue;
            }
        }
        // Resolved beside the socket, so that reading frames never waits.
        let (api, token, seen) = (api.clone(), token.to_owned(), seen.clone());
        tokio::spawn(async move {
            match api.post(&token, &format!("/sessions/{session}/resolve"), json!({})).await {
                Ok(resolved) => {
                    let stamp = |k: &str| {
                        resolved[k].as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    };
                    if let (Some(created), Some(assigned)) = (stamp("created_at"), stamp("assigned_at")) {
                        let waited = (assigned - created).to_std().unwrap_or_default();
                        seen.lock().expect("seen").server.push(waited);
                    }
                }
                Err(e) => seen.lock().expect("seen").failures.push(format!("resolve {session}: {e}")),
            }
        });
    }
}
