//! The WebSocket hub: every live browser (customers and agents) holds one
//! connection to `/ws` on some node, and every node sees every event:
//! - events come from the outbox: in embedded mode the relay taps them to
//!   this process's hub; with RabbitMQ each node consumes its own
//!   auto-delete queue bound to the event exchange;
//! - ephemeral frames (typing, read receipts) go to every node through the
//!   `live` fan-out exchange, or straight to this hub in embedded mode.
//!
//! One dispatcher task turns each event into a frame once (loading what it
//! needs from the database once, not per connection), decides per
//! connection with the same scoping rules as REST, and `try_send`s into the
//! connection's bounded queue. A connection whose queue is full is a slow
//! client: it is dropped (it reconnects and replays), never waited for.

mod routing;
pub mod socket;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use domain::{
    actor::{AgentActor, CustomerActor},
    live::ServerFrame,
    outbox::Event,
    scope::Scope,
    types::{AccountId, AgentId, SessionId, SupportTypeId},
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use routing::Routed;

/// Tunables; the defaults suit production.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Frames buffered per connection before it counts as slow and is dropped.
    pub send_queue: usize,
    /// How often the server pings; a peer silent for `dead_after` is closed.
    pub ping_every: Duration,
    pub dead_after: Duration,
    /// How often credentials of open connections are checked again.
    pub recheck_every: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            send_queue: 256,
            ping_every: Duration::from_secs(25),
            dead_after: Duration::from_secs(70),
            recheck_every: Duration::from_secs(300),
        }
    }
}

/// A frame that is not an outbox event, with what routing needs; travels
/// between nodes as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ephemeral {
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub support_type_id: SupportTypeId,
    pub owner_id: Option<AgentId>,
    pub frame: ServerFrame,
    /// `{node}:{connection}` that caused it; it does not get its own echo.
    pub origin: String,
}

impl Ephemeral {
    /// A frame about `session`, routed like its messages.
    pub fn about(session: &domain::live::SessionBrief, frame: ServerFrame, origin: String) -> Self {
        Self {
            session_id: session.id,
            account_id: session.account_id,
            support_type_id: session.support_type_id,
            owner_id: session.owner_id,
            frame,
            origin,
        }
    }
}

pub enum Input {
    Event(Event),
    Ephemeral(Box<Ephemeral>),
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub enum Who {
    Customer(CustomerActor),
    Agent(AgentActor),
}

struct Conn {
    /// Who it is now (an agent's role may change while connected).
    who: RwLock<Who>,
    /// What they may see (`domain::scope`), rebuilt when the agent changes.
    scope: RwLock<Scope>,
    /// Sessions an agent follows (checked at subscribe time).
    subscriptions: Mutex<HashSet<SessionId>>,
    /// A customer's session's current type (it changes on transfer).
    support_type: Mutex<Option<SupportTypeId>>,
    /// The last queue position sent to a customer.
    last_position: Mutex<Option<(i64, i64)>>,
    tx: mpsc::Sender<Arc<str>>,
    kill: CancellationToken,
    /// Set when the hub ends the connection because the sign-in ended
    /// (rather than because the client was slow).
    signed_out: std::sync::atomic::AtomicBool,
}

impl Conn {
    fn who(&self) -> Who {
        *self.who.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The one scope rule, with this connection's audience and follows.
    fn reaches(&self, routed: &Routed) -> bool {
        let scope = self.scope.read().unwrap_or_else(|e| e.into_inner());
        let subscribed =
            |s: SessionId| self.subscriptions.lock().unwrap_or_else(|e| e.into_inner()).contains(&s);
        routed.reaches(&self.who(), &scope, subscribed)
    }
}

/// Where this node sends its ephemeral frames: to itself (embedded) or to
/// the `live` exchange (RabbitMQ), whence every node gets them.
enum Outbound {
    Local,
    Broker(mpsc::Sender<Vec<u8>>),
}

struct Inner {
    pool: PgPool,
    node_id: String,
    config: HubConfig,
    conns: RwLock<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    input: mpsc::Sender<Input>,
    outbound: RwLock<Outbound>,
    dirty_types: Mutex<HashSet<SupportTypeId>>,
    names: Mutex<HashMap<AgentId, String>>,
    dropped_slow: AtomicU64,
}

/// The hub of one node. Cheap to clone.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

/// How many inputs may wait for the dispatcher; beyond that the feed is
/// far behind and clients are told to resync instead.
const INPUT_QUEUE: usize = 16_384;

impl Hub {
    /// A hub and the receiving end of its input; [`Hub::run`] consumes it.
    pub fn new(pool: PgPool, config: HubConfig) -> (Self, mpsc::Receiver<Input>) {
        let (input, rx) = mpsc::channel(INPUT_QUEUE);
        let hub = Self(Arc::new(Inner {
            pool,
            node_id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            config,
            conns: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            input,
            outbound: RwLock::new(Outbound::Local),
            dirty_types: Mutex::new(HashSet::new()),
            names: Mutex::new(HashMap::new()),
            dropped_slow: AtomicU64::new(0),
        }));
        (hub, rx)
    }

    pub fn node_id(&self) -> &str {
        &self.0.node_id
    }

    pub fn config(&self) -> &HubConfig {
        &self.0.config
    }

    pub fn pool(&self) -> &PgPool {
        &self.0.pool
    }

    /// Ephemeral frames go to the broker from now on (RabbitMQ mode).
    pub fn use_broker(&self, outbound: mpsc::Sender<Vec<u8>>) {
        *self.0.outbound.write().unwrap_or_else(|e| e.into_inner()) = Outbound::Broker(outbound);
    }

    /// Hands an input to the dispatcher without waiting. When the
    /// dispatcher is hopelessly behind, the input is dropped and every
    /// client is told to resync (they reload, then carry on live).
    pub fn feed(&self, input: Input) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.0.input.try_send(input) {
            tracing::warn!("real-time dispatcher is behind; asking clients to resync");
            let inner = self.0.clone();
            tokio::spawn(async move {
                let last = domain::live::last_event_id(&inner.pool).await.unwrap_or(0);
                let frame = json(&ServerFrame::Resync { last_event_id: last });
                for conn in snapshot(&inner) {
                    let _ = conn.1.tx.try_send(frame.clone());
                }
            });
        }
    }

    /// What this node's broker queue delivered.
    pub fn feed_delivery(&self, delivery: consumers::amqp::NodeDelivery) {
        match delivery {
            consumers::amqp::NodeDelivery::Event(e) => self.feed(Input::Event(e)),
            consumers::amqp::NodeDelivery::Ephemeral(body) => {
                match serde_json::from_slice::<Ephemeral>(&body) {
                    Ok(e) => self.feed(Input::Ephemeral(Box::new(e))),
                    Err(err) => tracing::warn!(error = %err, "unreadable ephemeral frame; skipped"),
                }
            }
        }
    }

    /// Publishes an ephemeral frame to every node (this one included).
    pub fn publish_ephemeral(&self, e: Ephemeral) {
        let outbound = self.0.outbound.read().unwrap_or_else(|e| e.into_inner());
        match &*outbound {
            Outbound::Local => self.feed(Input::Ephemeral(Box::new(e))),
            Outbound::Broker(tx) => match serde_json::to_vec(&e) {
                Ok(body) => {
                    if tx.try_send(body).is_err() {
                        tracing::debug!("ephemeral frame dropped: broker link busy or down");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot serialize an ephemeral frame"),
            },
        }
    }

    /// Connections dropped because they could not keep up.
    pub fn dropped_slow(&self) -> u64 {
        self.0.dropped_slow.load(Ordering::Relaxed)
    }

    /// Open connections on this node.
    pub fn connection_count(&self) -> usize {
        self.0.conns.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Registers a connection; frames for it arrive on the returned
    /// receiver. `kill` is cancelled when the hub drops it.
    fn register(&self, who: Who, scope: Scope) -> Registration {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.0.config.send_queue);
        let kill = CancellationToken::new();
        let conn = Arc::new(Conn {
            who: RwLock::new(who),
            scope: RwLock::new(scope),
            subscriptions: Mutex::new(HashSet::new()),
            support_type: Mutex::new(None),
            last_position: Mutex::new(None),
            tx,
            kill: kill.clone(),
            signed_out: std::sync::atomic::AtomicBool::new(false),
        });
        self.0.conns.write().unwrap_or_else(|e| e.into_inner()).insert(id, conn.clone());
        Registration { hub: self.clone(), id, conn, rx: Some(rx), kill }
    }

    /// Runs the dispatcher, the queue-position ticker and the customer
    /// presence ticker until `stop`.
    pub async fn run(self, mut rx: mpsc::Receiver<Input>, stop: CancellationToken) {
        let ticker = tokio::spawn({
            let hub = self.clone();
            let stop = stop.clone();
            async move { hub.tick_queue_positions(stop).await }
        });
        let presence = tokio::spawn({
            let hub = self.clone();
            let stop = stop.clone();
            async move { hub.tick_customer_presence(stop).await }
        });
        loop {
            let input = tokio::select! {
                () = stop.cancelled() => break,
                next = rx.recv() => match next { Some(i) => i, None => break },
            };
            match input {
                Input::Event(event) => match routing::route(&self, &event).await {
                    Ok(Some(routed)) => {
                        // Before anything else goes out: later events must
                        // meet the agent's new scope.
                        if let Some(agent) = routed.refresh_scope_of {
                            self.refresh_scope(agent).await;
                        }
                        self.dispatch(&routed, None);
                    }
                    Ok(None) => {}
                    Err(err) => tracing::warn!(error = %err, topic = %event.topic, "cannot route an event"),
                },
                Input::Ephemeral(e) => {
                    let origin = e.origin.clone();
                    self.dispatch(&Routed::ephemeral(*e), Some(&origin));
                }
            }
        }
        ticker.abort();
        presence.abort();
    }

    /// The sessions whose customer has a live socket on this node.
    fn live_customer_sessions(&self) -> Vec<SessionId> {
        let mut ids: Vec<SessionId> = snapshot(&self.0)
            .into_iter()
            .filter_map(|(_, c)| match c.who() {
                Who::Customer(cu) => Some(cu.session_id),
                Who::Agent(_) => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Keeps `sessions.customer_live_until` ahead for the customers
    /// connected here, which is what "the customer is offline" means
    /// (`domain::notifications::customer_offline`).
    async fn tick_customer_presence(&self, stop: CancellationToken) {
        let refresh = Duration::from_secs(domain::notifications::CUSTOMER_LIVE_REFRESH_SECS);
        let mut every = tokio::time::interval(refresh);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let live = self.live_customer_sessions();
            if !live.is_empty()
                && let Err(err) = domain::notifications::customers_live(&self.0.pool, &live).await
            {
                tracing::warn!(error = %err, "cannot record live customers");
            }
        }
    }

    /// Sends `routed` to every connection that may see it.
    fn dispatch(&self, routed: &Routed, origin: Option<&str>) {
        let (mut for_agents, mut for_customers) = (None, None);
        let mut slow = Vec::new();
        for (id, conn) in snapshot(&self.0) {
            if origin.is_some_and(|o| *o == self.origin_of(id)) {
                continue;
            }
            if !routed.has_frame() || !conn.reaches(routed) {
                continue;
            }
            let frame = match conn.who() {
                Who::Customer(_) => {
                    if let Some(t) = routed.support_type_id {
                        *conn.support_type.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
                    }
                    for_customers.get_or_insert_with(|| json(&routed.customer_frame())).clone()
                }
                Who::Agent(_) => for_agents.get_or_insert_with(|| json(&routed.frame)).clone(),
            };
            match conn.tx.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(id),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for id in slow {
            self.drop_slow(id);
        }
        if let Some(t) = routed.queue_changed {
            self.0.dirty_types.lock().unwrap_or_else(|e| e.into_inner()).insert(t);
        }
        if let Some(t) = routed.queue_changed_also {
            self.0.dirty_types.lock().unwrap_or_else(|e| e.into_inner()).insert(t);
        }
    }

    /// Rebuilds the scope of every connection of `agent` from the
    /// database: their role, account, skills and activation. A deactivated
    /// agent's connections are closed.
    async fn refresh_scope(&self, agent: AgentId) {
        let conns: Vec<Arc<Conn>> = snapshot(&self.0)
            .into_iter()
            .filter(|(_, c)| matches!(c.who(), Who::Agent(a) if a.id == agent))
            .map(|(_, c)| c)
            .collect();
        if conns.is_empty() {
            return;
        }
        let refreshed = match domain::live::agent_actor(&self.0.pool, agent).await {
            Ok(Some(actor)) => match Scope::load(&self.0.pool, &domain::actor::Actor::Agent(actor)).await {
                Ok(scope) => Some((actor, scope)),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot rebuild a live scope; closing the agent's connections");
                    None
                }
            },
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "cannot reload an agent; closing their connections");
                None
            }
        };
        for conn in conns {
            match &refreshed {
                Some((actor, scope)) => {
                    *conn.who.write().unwrap_or_else(|e| e.into_inner()) = Who::Agent(*actor);
                    *conn.scope.write().unwrap_or_else(|e| e.into_inner()) = scope.clone();
                }
                None => {
                    // Deactivated (or unknown): nothing more is sent; the
                    // client is told why and must sign in again.
                    *conn.scope.write().unwrap_or_else(|e| e.into_inner()) = Scope::Nothing;
                    let frame = ServerFrame::Error {
                        code: "unauthenticated".to_owned(),
                        message: "your sign-in has ended".to_owned(),
                    };
                    let _ = conn.tx.try_send(json(&frame));
                    conn.signed_out.store(true, Ordering::Relaxed);
                    conn.kill.cancel();
                }
            }
        }
    }

    fn drop_slow(&self, id: u64) {
        if let Some(conn) = self.0.conns.write().unwrap_or_else(|e| e.into_inner()).remove(&id) {
            self.0.dropped_slow.fetch_add(1, Ordering::Relaxed);
            tracing::info!(connection = id, "dropping a slow WebSocket client (send queue full)");
            conn.kill.cancel();
        }
    }

    fn origin_of(&self, conn: u64) -> String {
        format!("{}:{conn}", self.0.node_id)
    }

    /// An agent's display name, cached (names change rarely; `agent.updated`
    /// clears the entry).
    pub(crate) async fn name_of(&self, agent: AgentId) -> Option<String> {
        if let Some(n) = self.0.names.lock().unwrap_or_else(|e| e.into_inner()).get(&agent) {
            return Some(n.clone());
        }
        let name = domain::live::display_name(&self.0.pool, agent).await.ok().flatten()?;
        self.0.names.lock().unwrap_or_else(|e| e.into_inner()).insert(agent, name.clone());
        Some(name)
    }

    pub(crate) fn forget_name(&self, agent: AgentId) {
        self.0.names.lock().unwrap_or_else(|e| e.into_inner()).remove(&agent);
    }

    /// Once a second: new queue positions for customers waiting in types
    /// whose line moved.
    async fn tick_queue_positions(&self, stop: CancellationToken) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let dirty: Vec<SupportTypeId> =
                self.0.dirty_types.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
            if dirty.is_empty() {
                continue;
            }
            let waiting: Vec<(u64, Arc<Conn>)> = snapshot(&self.0)
                .into_iter()
                .filter(|(_, c)| {
                    matches!(c.who(), Who::Customer(_))
                        && c.support_type
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .is_some_and(|t| dirty.contains(&t))
                })
                .collect();
            if waiting.is_empty() {
                continue;
            }
            match domain::live::queue_positions(&self.0.pool, &dirty).await {
                Ok(positions) => {
                    let by_session: HashMap<SessionId, _> =
                        positions.into_iter().map(|p| (p.session_id, p)).collect();
                    for (_, conn) in waiting {
                        let Who::Customer(c) = conn.who() else { continue };
                        let Some(p) = by_session.get(&c.session_id) else { continue };
                        let mut last = conn.last_position.lock().unwrap_or_else(|e| e.into_inner());
                        if *last != Some((p.position, p.eta_secs)) {
                            *last = Some((p.position, p.eta_secs));
                            let frame = ServerFrame::Queue {
                                session_id: p.session_id,
                                position: p.position,
                                eta_secs: p.eta_secs,
                            };
                            let _ = conn.tx.try_send(json(&frame));
                        }
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot compute queue positions"),
            }
        }
    }
}

/// Embedded mode: the relay's publisher, tapped. Once a batch is in the
/// consumers' inboxes, its events go to this node's live clients too.
pub struct TapPublisher {
    inner: Arc<dyn consumers::relay::Publisher>,
    hub: Hub,
}

impl TapPublisher {
    pub fn new(inner: Arc<dyn consumers::relay::Publisher>, hub: Hub) -> Self {
        Self { inner, hub }
    }
}

impl consumers::relay::Publisher for TapPublisher {
    fn publish<'a>(
        &'a self,
        tx: &'a mut sqlx::PgConnection,
        events: &'a [Event],
    ) -> consumers::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.inner.publish(tx, events).await?;
            // Before the relay commits: a failed commit means the batch comes
            // again, and clients skip event ids they have seen.
            for event in events {
                self.hub.feed(Input::Event(event.clone()));
            }
            Ok(())
        })
    }
}

fn snapshot(inner: &Inner) -> Vec<(u64, Arc<Conn>)> {
    inner.conns.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(id, c)| (*id, c.clone())).collect()
}

pub(crate) fn json(frame: &ServerFrame) -> Arc<str> {
    serde_json::to_string(frame).unwrap_or_else(|_| r#"{"type":"pong"}"#.to_owned()).into()
}

/// A registered connection; unregisters itself when dropped.
pub(crate) struct Registration {
    hub: Hub,
    id: u64,
    conn: Arc<Conn>,
    rx: Option<mpsc::Receiver<Arc<str>>>,
    pub kill: CancellationToken,
}

impl Registration {
    pub fn origin(&self) -> String {
        self.hub.origin_of(self.id)
    }

    pub fn take_receiver(&mut self) -> Option<mpsc::Receiver<Arc<str>>> {
        self.rx.take()
    }

    /// Queues a frame for this connection only (replay, replies).
    pub fn send(&self, frame: &ServerFrame) -> bool {
        match self.conn.tx.try_send(json(frame)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.hub.drop_slow(self.id);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn subscribe(&self, session: SessionId) {
        self.conn.subscriptions.lock().unwrap_or_else(|e| e.into_inner()).insert(session);
    }

    pub fn unsubscribe(&self, session: SessionId) {
        self.conn.subscriptions.lock().unwrap_or_else(|e| e.into_inner()).remove(&session);
    }

    pub fn is_subscribed(&self, session: SessionId) -> bool {
        self.conn.subscriptions.lock().unwrap_or_else(|e| e.into_inner()).contains(&session)
    }

    pub fn set_customer_type(&self, t: SupportTypeId) {
        *self.conn.support_type.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
    }

    /// Whether a routed event would reach this connection (replay).
    pub fn reaches(&self, routed: &Routed) -> bool {
        self.conn.reaches(routed)
    }

    /// Ends the connection because its sign-in ended (closed with 4401).
    pub fn sign_out(&self) {
        self.conn.signed_out.store(true, Ordering::Relaxed);
        self.conn.kill.cancel();
    }

    /// Whether the hub ended this connection because its sign-in ended.
    pub fn signed_out(&self) -> bool {
        self.conn.signed_out.load(Ordering::Relaxed)
    }

    /// Who is connected, as of now.
    pub fn who(&self) -> Who {
        self.conn.who()
    }

    /// What the caller may see, as of now.
    pub fn scope(&self) -> Scope {
        self.conn.scope.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn frame_for(&self, routed: &Routed) -> ServerFrame {
        match self.conn.who() {
            Who::Customer(_) => routed.customer_frame(),
            Who::Agent(_) => routed.frame.clone(),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.0.conns.write().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        // The customer's last socket here closed: they are offline from now
        // (another node holding one puts them back at its next refresh).
        if let Who::Customer(c) = self.conn.who()
            && !self.hub.live_customer_sessions().contains(&c.session_id)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let pool = self.hub.0.pool.clone();
            runtime.spawn(async move {
                if let Err(err) = domain::notifications::customer_left(&pool, c.session_id).await {
                    tracing::warn!(error = %err, "cannot record that a customer left");
                }
            });
        }
    }
}
