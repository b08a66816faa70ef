//! Scenario 2 (chat delivery) and scenario 3 (WebSocket capacity), each
//! beside the same load on the minimal relay ([`crate::relay`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{sync::Semaphore, task::JoinHandle};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::{
    common::{self, Api, CpuMeter, Error, Socket, percentiles, rss_bytes},
    relay::Relay,
};

/// Side 0 is the customer, side 1 the agent.
const SIDES: [&str; 2] = ["customer → agent", "agent → customer"];

/// Messages in flight and the delays of those that arrived, by the side
/// that sent them.
#[derive(Default)]
struct Deliveries {
    sent: HashMap<String, (Instant, u8)>,
    delays: [Vec<Duration>; 2],
    failed: usize,
    first_failure: Option<String>,
}

type Shared = Arc<Mutex<Deliveries>>;

impl Deliveries {
    fn sending(shared: &Shared, tag: &str, side: u8) {
        shared.lock().expect("deliveries").sent.insert(tag.to_owned(), (Instant::now(), side));
    }

    /// A message reached `side`; its own echo does not count.
    fn received(shared: &Shared, tag: &str, side: u8) {
        let at = Instant::now();
        let mut d = shared.lock().expect("deliveries");
        if d.sent.get(tag).is_some_and(|(_, from)| *from != side)
            && let Some((sent, from)) = d.sent.remove(tag)
        {
            d.delays[from as usize].push(at.saturating_duration_since(sent));
        }
    }

    fn failed(shared: &Shared, tag: &str, why: String) {
        let mut d = shared.lock().expect("deliveries");
        d.sent.remove(tag);
        d.failed += 1;
        d.first_failure.get_or_insert(why);
    }

    /// "customer → agent p50 … / p99 … / max … ms (n); agent → customer …"
    fn summary(&self) -> (String, f64, Value) {
        let mut text = Vec::new();
        let mut json = serde_json::Map::new();
        let mut worst_p99: f64 = 0.0;
        for (side, name) in SIDES.iter().enumerate() {
            let (p50, p99, max) = percentiles(self.delays[side].clone());
            worst_p99 = worst_p99.max(p99);
            text.push(format!(
                "{name} p50 {p50:.1} / p99 {p99:.1} / max {max:.0} ms ({})",
                self.delays[side].len()
            ));
            json.insert(
                (*name).to_owned(),
                json!({ "p50_ms": p50, "p99_ms": p99, "max_ms": max, "delivered": self.delays[side].len() }),
            );
        }
        let lost = self.sent.len();
        text.push(format!("{lost} not delivered, {} sends failed", self.failed));
        json.insert("not_delivered".into(), json!(lost));
        json.insert("send_failures".into(), json!(self.failed));
        if let Some(why) = &self.first_failure {
            eprintln!("chat delivery: {} sends failed; first: {why}", self.failed);
        }
        (text.join("; "), worst_p99, Value::Object(json))
    }
}

/// When side `side` of chat `chat` of `chats` sends its first message: the
/// 2-second period spread evenly over the chats, the two sides 1 s apart.
fn offset(chat: usize, chats: usize, side: u8) -> Duration {
    Duration::from_millis(((chat * 2000 / chats) as u64 + u64::from(side) * 1000) % 2000)
}

/// One side of a chat sends a message every 2 s for `secs`, through `send`.
fn every_two_seconds<F, Fut>(
    chat: usize,
    chats: usize,
    side: u8,
    secs: u64,
    shared: Shared,
    send: F,
) -> JoinHandle<()>
where
    F: Fn(String) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + offset(chat, chats, side);
        let mut tick = tokio::time::interval_at(start, Duration::from_secs(2));
        let end = start + Duration::from_secs(secs);
        for k in 0.. {
            if tick.tick().await >= end {
                return;
            }
            let tag = format!("m{chat}-{side}-{k}");
            Deliveries::sending(&shared, &tag, side);
            if let Err(why) = send(tag.clone()).await {
                Deliveries::failed(&shared, &tag, why);
            }
        }
    })
}

/// Waits for `handles`, then up to 5 s more for messages still in flight.
async fn drain(handles: Vec<JoinHandle<()>>, shared: &Shared) {
    for h in handles {
        let _ = h.await;
    }
    let until = Instant::now() + Duration::from_secs(5);
    while !shared.lock().expect("deliveries").sent.is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `connect` for 0..n, at most 100 at a time; each outcome in order.
async fn try_connect_all<F, Fut>(n: usize, connect: F) -> Result<Vec<Result<Socket, String>>, Error>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Socket, Error>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(100));
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let fut = connect(i);
        pending.push(tokio::spawn(async move {
            let _permit = permit;
            fut.await.map_err(|e| e.to_string())
        }));
    }
    let mut sockets = Vec::with_capacity(n);
    for p in pending {
        sockets.push(p.await?);
    }
    Ok(sockets)
}

/// [`try_connect_all`] where every socket must connect.
async fn connect_all<F, Fut>(n: usize, connect: F) -> Result<Vec<Socket>, Error>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Socket, Error>> + Send + 'static,
{
    let mut sockets = Vec::with_capacity(n);
    for s in try_connect_all(n, connect).await? {
        sockets.push(s.map_err(|e| format!("connect: {e}"))?);
    }
    Ok(sockets)
}

/// Opens `n` chats of type `slug`, 50 at a time: (session, chat token).
async fn open_chats(api: &Api, slug: &str, n: usize) -> Result<Vec<(String, String)>, Error> {
    let gate = Arc::new(Semaphore::new(50));
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let (api, slug) = (api.clone(), slug.to_owned());
        pending.push(tokio::spawn(async move {
            let _permit = permit;
            common::open_chat(&api, &slug, &format!("Hello, question {i}")).await.map_err(|e| e.to_string())
        }));
    }
    let mut chats = Vec::with_capacity(n);
    for p in pending {
        chats.push(p.await??);
    }
    Ok(chats)
}

/// Scenario 2: `chats` chats, each with a customer socket and its agent's
/// socket; both sides send a message every 2 s over
/// `POST /sessions/{id}/messages` (the product's send path) for `secs`,
/// and the other side's socket receives it. Then the same load through the
/// relay. Returns the figure, the raw limit, the ratio and the data.
pub async fn delivery(
    api: &Api,
    admin: &str,
    account: &str,
    first_agent: usize,
    chats: usize,
    secs: u64,
) -> Result<(String, String, String, Value), Error> {
    let ty = common::support_type(api, admin, account, "bench-chat").await?;
    let mut tokens = HashMap::new();
    for n in first_agent..first_agent + chats.div_ceil(10) {
        let (agent, token) =
            common::agent(api, admin, account, n, 10, std::slice::from_ref(&ty), None).await?;
        tokens.insert(agent, token);
    }
    let opened = open_chats(api, "bench-chat", chats).await?;
    // Each chat's owner: assigned at open, or soon after by the engine.
    let mut owned = Vec::with_capacity(chats);
    for (session, customer) in opened {
        let owner = common::owner_of(api, admin, &session).await?;
        let agent = tokens.get(&owner).ok_or("a chat went to an agent outside the run")?.clone();
        owned.push((session, agent, customer));
    }
    let owned = Arc::new(owned);

    let shared: Shared = Arc::default();
    let (api2, list) = (api.clone(), owned.clone());
    let agent_sockets = connect_all(chats, move |i| {
        let (api, (session, agent, _)) = (api2.clone(), list[i].clone());
        async move {
            let mut socket = common::connect(&api, Some(&agent), None).await?;
            common::welcomed(&mut socket).await?;
            socket
                .send(Frame::text(json!({ "type": "subscribe", "session_id": session }).to_string()))
                .await?;
            Ok(socket)
        }
    })
    .await?;
    let (api2, list) = (api.clone(), owned.clone());
    let customer_sockets = connect_all(chats, move |i| {
        let (api, (_, _, customer)) = (api2.clone(), list[i].clone());
        async move {
            let mut socket = common::connect(&api, None, Some(&customer)).await?;
            common::welcomed(&mut socket).await?;
            Ok(socket)
        }
    })
    .await?;
    let mut readers = Vec::new();
    for (side, sockets) in [(0u8, customer_sockets), (1u8, agent_sockets)] {
        for mut socket in sockets {
            let shared = shared.clone();
            readers.push(tokio::spawn(async move {
                while let Some(Ok(frame)) = socket.next().await {
                    let Frame::Text(text) = frame else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                    if v["type"] == "message"
                        && let Some(tag) = v["message"]["body"].as_str()
                    {
                        Deliveries::received(&shared, tag, side);
                    }
                }
            }));
        }
    }
    // Subscriptions are not acknowledged: give them a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let cpu = CpuMeter::start();
    let mut senders = Vec::new();
    for (chat, (session, agent, customer)) in owned.iter().enumerate() {
        for (side, token) in [(0u8, customer.clone()), (1u8, agent.clone())] {
            let (api, session) = (api.clone(), session.clone());
            senders.push(every_two_seconds(chat, chats, side, secs, shared.clone(), move |tag| {
                let (api, session, token) = (api.clone(), session.clone(), token.clone());
                async move {
                    api.post(
                        &token,
                        &format!("/sessions/{session}/messages"),
                        json!({ "body": tag, "client_message_id": tag }),
                    )
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
                }
            }));
        }
    }
    drain(senders, &shared).await;
    let (_, busy) = cpu.busy();
    for r in readers {
        r.abort();
    }
    let (figure, p99, data) = shared.lock().expect("deliveries").summary();

    // Resolve the chats so that nothing of this scenario lingers.
    for (session, agent, _) in owned.iter() {
        api.post(agent, &format!("/sessions/{session}/resolve"), json!({})).await?;
    }

    let (raw_figure, raw_p99, raw_data) = relay_delivery(chats, secs).await?;
    Ok((
        format!("{figure}; {busy}"),
        format!("minimal relay: {raw_figure}"),
        format!("p99 {:.1}× raw", p99 / raw_p99),
        json!({ "chats": chats, "seconds": secs, "product": data, "raw": raw_data }),
    ))
}

/// Scenario 2's load on the minimal relay: the same chats, the same
/// schedule, each side sending over its own socket.
async fn relay_delivery(chats: usize, secs: u64) -> Result<(String, f64, Value), Error> {
    let relay = Arc::new(Relay::start().await?);
    let shared: Shared = Arc::default();
    let r2 = relay.clone();
    let sockets = connect_all(chats * 2, move |i| {
        let relay = r2.clone();
        async move { relay.join(i / 2, (i % 2) as u8).await }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut tasks = Vec::new();
    let mut readers = Vec::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        let (chat, side) = (i / 2, (i % 2) as u8);
        let (sink, mut stream) = socket.split();
        let sink = Arc::new(tokio::sync::Mutex::new(sink));
        let reader_shared = shared.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(Frame::Text(tag))) = stream.next().await {
                Deliveries::received(&reader_shared, tag.as_str(), side);
            }
        }));
        tasks.push(every_two_seconds(chat, chats, side, secs, shared.clone(), move |tag| {
            let sink = sink.clone();
            async move { sink.lock().await.send(Frame::text(tag)).await.map_err(|e| e.to_string()) }
        }));
    }
    drain(tasks, &shared).await;
    for r in readers {
        r.abort();
    }
    let summary = shared.lock().expect("deliveries").summary();
    Ok(summary)
}

/// How many agents scenario 3 makes for `n` sockets.
pub fn agents_for(n: usize) -> usize {
    n.div_ceil(20)
}

/// Scenario 3: `n` idle, authenticated sockets, half agents (bearer
/// token, ten sockets per agent) and half customers (a chat token each, of a type nobody serves),
/// then the server's resident memory per connection; beside it the relay's
/// with as many idle sockets. Returns the figure, the raw limit, the ratio
/// and the data.
pub async fn capacity(
    api: &Api,
    admin: &str,
    account: &str,
    first_agent: usize,
    n: usize,
) -> Result<(String, String, String, Value), Error> {
    let pid = common::server_pid().ok_or("BENCH_SERVER_PID is not set (scripts/bench sets it)")?;
    common::support_type(api, admin, account, "bench-idle").await?;
    let chats = open_chats(api, "bench-idle", n / 2).await?;
    let mut agents = Vec::new();
    // A team's agents keep a few tabs open: ten sockets per agent.
    for k in first_agent..first_agent + agents_for(n) {
        agents.push(common::agent(api, admin, account, k, 1, &[], None).await?.1);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_bytes(pid)?;
    let started = Instant::now();
    let (api2, tokens) =
        (api.clone(), Arc::new((agents, chats.iter().map(|c| c.1.clone()).collect::<Vec<_>>())));
    let outcomes = try_connect_all(n, move |i| {
        let (api, tokens) = (api2.clone(), tokens.clone());
        async move {
            let mut socket = if i % 2 == 0 {
                common::connect(&api, Some(&tokens.0[(i / 2) % tokens.0.len()]), None).await?
            } else {
                common::connect(&api, None, Some(&tokens.1[i / 2])).await?
            };
            common::welcomed(&mut socket).await?;
            Ok(socket)
        }
    })
    .await?;
    let connected_in = started.elapsed();
    let mut sockets = Vec::with_capacity(n);
    let mut refused = Vec::new();
    for o in outcomes {
        match o {
            Ok(s) => sockets.push(s),
            Err(e) => refused.push(e),
        }
    }
    if let Some(first) = refused.first() {
        eprintln!("capacity: {} of {n} sockets failed to connect; first: {first}", refused.len());
    }
    let held = hold(sockets);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_bytes(pid)?;
    let open = held.iter().filter(|h| !h.is_finished()).count();
    for h in &held {
        h.abort();
    }
    let per = after.saturating_sub(before) as f64 / open.max(1) as f64;

    // The queued chats leave, so that nothing of this scenario lingers.
    for (session, customer) in &chats {
        api.post(customer, &format!("/sessions/{session}/abandon"), json!({})).await?;
    }

    let relay = Arc::new(Relay::start().await?);
    let relay_pid = relay.pid()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let raw_before = rss_bytes(relay_pid)?;
    let r2 = relay.clone();
    let raw_sockets = connect_all(n, move |i| {
        let relay = r2.clone();
        async move { relay.join(i / 2, (i % 2) as u8).await }
    })
    .await?;
    let raw_held = hold(raw_sockets);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let raw_after = rss_bytes(relay_pid)?;
    for h in &raw_held {
        h.abort();
    }
    let raw_per = raw_after.saturating_sub(raw_before) as f64 / n as f64;

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok((
        format!(
            "{open}/{n} idle sockets held (connected and welcomed in {:.1} s); server RSS {:.0} → {:.0} MiB, {:.1} KiB per connection",
            connected_in.as_secs_f64(),
            mib(before),
            mib(after),
            per / 1024.0
        ),
        format!(
            "minimal relay: {:.1} KiB per connection ({:.0} → {:.0} MiB)",
            raw_per / 1024.0,
            mib(raw_before),
            mib(raw_after)
        ),
        format!("{:.1}× raw memory", per / raw_per),
        json!({ "connections": n, "held": open, "rss_before": before, "rss_after": after, "bytes_per_connection": per,
                "raw_bytes_per_connection": raw_per, "connect_seconds": connected_in.as_secs_f64(), "failed": refused.len() }),
    ))
}

/// Keeps idle sockets read (so pings are answered) until aborted.
fn hold(sockets: Vec<Socket>) -> Vec<JoinHandle<()>> {
    sockets
        .into_iter()
        .map(|mut socket| tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} }))
        .collect()
}
