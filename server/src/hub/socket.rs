//! `GET /ws`: one WebSocket connection, from the upgrade to the close.
//!
//! - Origin: a browser connection must come from this site (the chat page,
//!   even inside a widget iframe, is served from here); a cookie without a
//!   matching Origin is refused (cross-site WebSocket hijacking).
//! - Identity: an agent's session cookie or bearer API token at the upgrade;
//!   a customer's chat token in the first frame (`hello`), so it never lands
//!   in access logs. Nothing is sent before the hello is accepted.
//! - Replay: `hello.after` replays the missed events from the outbox, then
//!   `welcome`; live frames follow (the client skips ids it has applied).
//! - Liveness: the server pings; a peer silent for `dead_after` is closed.
//!   Credentials are checked again every `recheck_every`.
//! - Back-pressure: the hub drops a connection whose queue is full; a write
//!   that cannot finish in 10 s ends the connection too.

use std::time::{Duration, Instant};

use axum::{
    extract::{
        State,
        ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::{
    actor::{Actor, AgentActor},
    live::{ClientFrame, ServerFrame},
    types::SenderKind,
};
use futures_util::{SinkExt, StreamExt};

use super::{Ephemeral, Hub, Registration, Who, routing};
use crate::{AppState, security};

/// Client frames are small; anything bigger is refused by the protocol layer.
const MAX_MESSAGE: usize = 16 * 1024;
const HELLO_WITHIN: Duration = Duration::from_secs(10);
const WRITE_WITHIN: Duration = Duration::from_secs(10);
/// Replay at most this many events; past it the client reloads its state.
const REPLAY_LIMIT: i64 = 1000;
/// An agent's heartbeat is written at most this often per connection.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);
/// Typing frames faster than this are ignored.
const TYPING_EVERY: Duration = Duration::from_millis(500);

/// Close codes: 4401 not signed in / token gone (do not retry), 1013 too
/// slow (retry later), 1008 protocol misuse.
const CLOSE_UNAUTHENTICATED: u16 = 4401;
const CLOSE_SLOW: u16 = 1013;
const CLOSE_TRY_AGAIN: u16 = 1013;

/// How the connection proved who it is, kept to check again later.
#[derive(Clone)]
enum Credential {
    Cookie(String),
    ApiToken(String),
    Customer(String),
}

pub async fn upgrade(State(state): State<AppState>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let cookie = app::ssr::session_token(&headers);
    let has_origin = headers.contains_key(header::ORIGIN);
    if (has_origin || cookie.is_some())
        && let Err(why) = security::same_origin(&headers, state.security.public_origin.as_deref())
    {
        return refuse(StatusCode::FORBIDDEN, "forbidden_origin", why);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let pool = state.pool.clone();
    let agent = match (&bearer, &cookie) {
        (Some(token), _) => match domain::tokens::authenticate(&pool, token).await {
            Ok(Some(a)) => Some((a, Credential::ApiToken(token.clone()))),
            Ok(None) => {
                return refuse(StatusCode::UNAUTHORIZED, "unauthenticated", "the API token is not valid");
            }
            Err(_) => return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly"),
        },
        // A stale cookie is not an error yet: the page may be a customer's
        // chat (with a token in its hello) in a browser an agent also uses.
        (None, Some(c)) => match domain::auth::authenticate_session(&pool, c).await {
            Ok(found) => found.map(|s| (s.actor, Credential::Cookie(c.clone()))),
            Err(_) => return refuse(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly"),
        },
        (None, None) => None,
    };
    let hub = state.hub.clone();
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| connection(socket, hub, agent))
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "code": code, "message": message }))).into_response()
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(WRITE_WITHIN, socket.send(WsMessage::Close(Some(frame)))).await;
}

async fn send_now(socket: &mut WebSocket, frame: &ServerFrame) {
    let text = super::json(frame);
    let _ = tokio::time::timeout(WRITE_WITHIN, socket.send(WsMessage::Text(text.as_ref().into()))).await;
}

/// Waits for the hello and works out who this is.
async fn hello(
    socket: &mut WebSocket,
    hub: &Hub,
    agent: Option<(AgentActor, Credential)>,
) -> Option<(Who, Credential, Option<i64>)> {
    let first = tokio::time::timeout(HELLO_WITHIN, async {
        loop {
            match socket.recv().await {
                Some(Ok(WsMessage::Text(t))) => return Some(t),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                _ => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()?;
    let Ok(ClientFrame::Hello { token, after }) = serde_json::from_str::<ClientFrame>(first.as_str()) else {
        send_now(socket, &error("invalid", "the first frame must be a hello")).await;
        return None;
    };
    match token {
        Some(token) => match domain::auth::authenticate_customer(hub.pool(), &token).await {
            Ok(Some(c)) => Some((Who::Customer(c), Credential::Customer(token), after)),
            _ => None,
        },
        None => agent.map(|(a, cred)| (Who::Agent(a), cred, after)),
    }
}

fn error(code: &str, message: &str) -> ServerFrame {
    ServerFrame::Error { code: code.to_owned(), message: message.to_owned() }
}

async fn connection(mut socket: WebSocket, hub: Hub, agent: Option<(AgentActor, Credential)>) {
    let Some((who, credential, after)) = hello(&mut socket, &hub, agent).await else {
        send_now(&mut socket, &error("unauthenticated", "sign in, or start the chat again")).await;
        close(&mut socket, CLOSE_UNAUTHENTICATED, "unauthenticated").await;
        return;
    };
    let scope = match domain::scope::Scope::load(hub.pool(), &actor_of(who)).await {
        Ok(scope) => scope,
        Err(err) => {
            send_now(&mut socket, &error(err.code(), "try again shortly")).await;
            close(&mut socket, CLOSE_TRY_AGAIN, "unavailable").await;
            return;
        }
    };
    // Registered first, so nothing that happens during the replay is lost
    // (what arrives twice is skipped by the client).
    let mut reg = hub.register(who, scope);
    let Some(mut outgoing) = reg.take_receiver() else { return };
    let mark = domain::live::last_event_id(hub.pool()).await.unwrap_or(0);
    if let Some(after) = after {
        replay(&hub, &reg, after, mark).await;
    }
    if let Who::Customer(c) = who
        && let Err(err) = domain::notifications::customers_live(hub.pool(), &[c.session_id]).await
    {
        tracing::warn!(error = %err, "cannot record a live customer");
    }
    if let Who::Customer(c) = who
        && let Ok(Some(brief)) = domain::live::brief_unchecked(hub.pool(), c.session_id).await
    {
        reg.set_customer_type(brief.support_type_id);
        if let Ok(Some(p)) = domain::live::queue_position(hub.pool(), c.session_id).await {
            reg.send(&ServerFrame::Queue {
                session_id: p.session_id,
                position: p.position,
                eta_secs: p.eta_secs,
            });
        }
    }
    reg.send(&ServerFrame::Welcome { last_event_id: mark });

    // An agent's open workspace is a sign of life at once, not only at the
    // first ping.
    if let Who::Agent(a) = who
        && let Err(err) = domain::agents::heartbeat(hub.pool(), &Actor::Agent(a), a.id).await
    {
        tracing::warn!(error = %err, "cannot record a heartbeat");
    }
    let (mut sink, mut stream) = socket.split();
    let config = hub.config().clone();
    let kill = reg.kill.clone();
    let writer = async {
        let mut ping = tokio::time::interval(config.ping_every);
        ping.tick().await;
        loop {
            let message = tokio::select! {
                () = kill.cancelled() => {
                    let frame = if reg.signed_out() {
                        // The reason (queued just before) goes out first.
                        while let Ok(text) = outgoing.try_recv() {
                            let text = WsMessage::Text(text.as_ref().into());
                            let _ = tokio::time::timeout(WRITE_WITHIN, sink.send(text)).await;
                        }
                        CloseFrame { code: CLOSE_UNAUTHENTICATED, reason: "signed out".into() }
                    } else {
                        CloseFrame { code: CLOSE_SLOW, reason: "too slow; reconnect".into() }
                    };
                    let _ = tokio::time::timeout(WRITE_WITHIN, sink.send(WsMessage::Close(Some(frame)))).await;
                    return;
                }
                next = outgoing.recv() => match next {
                    Some(text) => WsMessage::Text(text.as_ref().into()),
                    None => return,
                },
                _ = ping.tick() => WsMessage::Ping(Default::default()),
            };
            match tokio::time::timeout(WRITE_WITHIN, sink.send(message)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    };
    let reader = async {
        let mut state = ReaderState::new(credential);
        loop {
            let next = tokio::select! {
                () = kill.cancelled() => return,
                next = tokio::time::timeout(config.dead_after, stream.next()) => next,
            };
            let text = match next {
                Err(_) => {
                    tracing::debug!("closing a silent WebSocket peer");
                    return;
                }
                Ok(None | Some(Err(_)) | Some(Ok(WsMessage::Close(_)))) => return,
                Ok(Some(Ok(WsMessage::Text(t)))) => t,
                Ok(Some(Ok(_))) => continue, // pings, pongs: alive
            };
            if state.last_check.elapsed() >= config.recheck_every {
                if !still_valid(&hub, &state.credential).await {
                    reg.send(&error("unauthenticated", "your sign-in has ended"));
                    reg.sign_out();
                    return;
                }
                state.last_check = Instant::now();
            }
            match serde_json::from_str::<ClientFrame>(text.as_str()) {
                Ok(frame) => handle(&hub, &reg, frame, &mut state).await,
                Err(_) => {
                    reg.send(&error("invalid", "that frame is not part of the protocol"));
                }
            }
        }
    };
    {
        tokio::pin!(writer);
        tokio::select! {
            () = &mut writer => {}
            () = reader => {
                // Ended by the hub or a failed credential check: what is
                // queued (the reason) and the close frame still go out.
                if kill.is_cancelled() {
                    let _ = tokio::time::timeout(WRITE_WITHIN, writer).await;
                }
            }
        }
    }
    drop(reg);
}

struct ReaderState {
    credential: Credential,
    last_check: Instant,
    last_heartbeat: Option<Instant>,
    last_typing: Option<Instant>,
}

impl ReaderState {
    fn new(credential: Credential) -> Self {
        Self {
            credential,
            last_check: Instant::now(),
            last_heartbeat: Some(Instant::now()),
            last_typing: None,
        }
    }
}

async fn still_valid(hub: &Hub, credential: &Credential) -> bool {
    let pool = hub.pool();
    match credential {
        Credential::Cookie(c) => matches!(domain::auth::authenticate_session(pool, c).await, Ok(Some(_))),
        Credential::ApiToken(t) => matches!(domain::tokens::authenticate(pool, t).await, Ok(Some(_))),
        Credential::Customer(t) => matches!(domain::auth::authenticate_customer(pool, t).await, Ok(Some(_))),
    }
}

fn actor_of(who: Who) -> Actor {
    match who {
        Who::Agent(a) => Actor::Agent(a),
        Who::Customer(c) => Actor::Customer(c),
    }
}

async fn replay(hub: &Hub, reg: &Registration, after: i64, mark: i64) {
    // Narrowed by the scope for the read; each event is then checked by it.
    let scope = reg.scope();
    let session = match scope {
        domain::scope::Scope::Session { session, .. } => Some(session),
        _ => None,
    };
    let account = scope.account();
    let events = match domain::live::replay(hub.pool(), session, account, after, REPLAY_LIMIT).await {
        Ok(events) => events,
        Err(err) => {
            tracing::warn!(error = %err, "replay failed; asking the client to resync");
            reg.send(&ServerFrame::Resync { last_event_id: mark });
            return;
        }
    };
    if events.len() as i64 >= REPLAY_LIMIT {
        reg.send(&ServerFrame::Resync { last_event_id: mark });
        return;
    }
    for event in &events {
        if let Ok(Some(routed)) = routing::route(hub, event).await
            && routed.has_frame()
            && reg.reaches(&routed)
            && !reg.send(&reg.frame_for(&routed))
        {
            return;
        }
    }
}

async fn handle(hub: &Hub, reg: &Registration, frame: ClientFrame, state: &mut ReaderState) {
    let pool = hub.pool();
    // As of now: the agent's role may have changed since the connect.
    let who = reg.who();
    match frame {
        ClientFrame::Hello { .. } => {
            reg.send(&error("invalid", "hello was already received"));
        }
        ClientFrame::Ping => {
            reg.send(&ServerFrame::Pong);
            if let Who::Agent(a) = who
                && state.last_heartbeat.is_none_or(|t| t.elapsed() >= HEARTBEAT_EVERY)
            {
                state.last_heartbeat = Some(Instant::now());
                if let Err(err) = domain::agents::heartbeat(pool, &Actor::Agent(a), a.id).await {
                    tracing::warn!(error = %err, "cannot record a heartbeat");
                }
            }
        }
        ClientFrame::Subscribe { session_id } => match who {
            Who::Customer(_) => {
                reg.send(&error("forbidden", "customers follow their own chat only"));
            }
            Who::Agent(_) => match domain::live::brief(pool, &actor_of(who), session_id).await {
                Ok(_) => reg.subscribe(session_id),
                Err(err) => {
                    reg.send(&error(err.code(), &err.to_string()));
                }
            },
        },
        ClientFrame::Unsubscribe { session_id } => reg.unsubscribe(session_id),
        ClientFrame::Typing { session_id, typing } => {
            let allowed = match who {
                Who::Customer(c) => c.session_id == session_id,
                Who::Agent(_) => reg.is_subscribed(session_id),
            };
            if !allowed {
                reg.send(&error("not_found", "session not found"));
                return;
            }
            if typing && state.last_typing.is_some_and(|t| t.elapsed() < TYPING_EVERY) {
                return;
            }
            state.last_typing = Some(Instant::now());
            let Ok(Some(brief)) = domain::live::brief_unchecked(pool, session_id).await else { return };
            if !reg.scope().sees(&brief.facts()) {
                reg.send(&error("not_found", "session not found"));
                return;
            }
            let (sender_kind, name) = match who {
                Who::Customer(_) => (SenderKind::Customer, brief.customer_name.clone()),
                Who::Agent(a) => (SenderKind::Agent, hub.name_of(a.id).await),
            };
            hub.publish_ephemeral(Ephemeral::about(
                &brief,
                ServerFrame::Typing { session_id, sender_kind, name, typing },
                reg.origin(),
            ));
        }
        ClientFrame::Read { session_id, message_id } => {
            match domain::live::mark_read(pool, &actor_of(who), session_id, message_id).await {
                Ok(Some(reader)) => {
                    let Ok(Some(brief)) = domain::live::brief_unchecked(pool, session_id).await else {
                        return;
                    };
                    let message_id = match reader {
                        SenderKind::Customer => brief.customer_read_message_id,
                        _ => brief.agent_read_message_id,
                    };
                    hub.publish_ephemeral(Ephemeral::about(
                        &brief,
                        ServerFrame::Read { session_id, reader, message_id },
                        reg.origin(),
                    ));
                }
                Ok(None) => {}
                Err(err) => {
                    reg.send(&error(err.code(), &err.to_string()));
                }
            }
        }
    }
}
