//! Live delivery: the real server (embedded mode) on the bench database,
//! one WebSocket per customer, and agent messages written to the database
//! as fast as the pool allows; measures the time from the message's commit
//! to its arrival in the customer's socket, and the memory one idle
//! connection costs.

use std::time::{Duration, Instant};

use domain::types::*;
use futures_util::{SinkExt, StreamExt};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

use crate::{Error, Stats};

/// Resident memory of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn live_delivery(pool: &PgPool, agent: AgentId, connections: usize) -> Result<(), Error> {
    let config = server::config::Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        _ => None,
    })?;
    let app = server::Application::build_with_pool(config, pool.clone()).await?;
    let url = format!("ws://{}/ws", app.local_addr());
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run(stop.clone()));

    // Customers with open chats (the engine assigns them as they come).
    let mut chats = Vec::with_capacity(connections);
    for _ in 0..connections {
        let opened = domain::auth::open_chat(
            pool,
            "type-0",
            domain::auth::OpenChat { message: Some("Hello".into()), ..Default::default() },
        )
        .await?;
        chats.push((opened.session.id, opened.token));
    }

    // One socket each, with client buffers as small as the server's.
    let before = rss_kib();
    let client = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let base = Instant::now();
    let mut readers = Vec::new();
    for (_, token) in &chats {
        let (mut ws, _) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(client), false).await?;
        ws.send(Message::Text(format!(r#"{{"type":"hello","token":"{token}"}}"#).into())).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains(r#""type":"welcome""#) => break,
                Some(Ok(_)) => continue,
                _ => return Err("a socket closed before its welcome".into()),
            }
        }
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg
                    && let Some(rest) = t.split("live-at-").nth(1)
                    && let Some(micros) = rest.split(['"', ' ']).next().and_then(|s| s.parse::<i64>().ok())
                {
                    let _ = tx.send((micros, Instant::now()));
                }
            }
        }));
    }
    let per_connection = (rss_kib().saturating_sub(before)) as f64 / connections as f64;

    // Every customer gets one message; the clock starts at each commit.
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    for (i, (session, _)) in chats.iter().enumerate() {
        let micros = base.elapsed().as_micros() as i64;
        domain::conversation::post_agent_message(
            &mut conn,
            *session,
            agent,
            &format!("live-at-{micros} reply"),
            &format!("live-{i}"),
            Vec::new(),
        )
        .await?;
    }
    drop(conn);
    let mut latencies = Vec::with_capacity(connections);
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.len() < connections && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some((sent, got))) => {
                let sent_at = base + Duration::from_micros(sent as u64);
                latencies.push(got.saturating_duration_since(sent_at));
            }
            _ => break,
        }
    }
    let took = started.elapsed();
    let delivered = latencies.len();
    Stats::from_latencies(latencies, took).print(&format!(
        "WebSocket delivery, commit → customer's socket (one sequential writer; {delivered}/{connections} sockets)"
    ));
    println!(
        "| memory per idle WebSocket (client and server ends, one process) | {connections} | {per_connection:.0} KiB | - | - | - |"
    );
    stop.cancel();
    for r in readers {
        r.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    Ok(())
}
