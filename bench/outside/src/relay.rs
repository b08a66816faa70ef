//! The raw limit of scenarios 2 and 3: the least a chat relay can be. A
//! tokio-tungstenite server in a process of its own (so that its memory is
//! read alone) that pairs two sockets per chat and forwards every text
//! frame of one side to the other. No authentication, no storage, no JSON.
//!
//! A client's first frame is `join <chat> <side>` (`side` 0 or 1).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_tungstenite::tungstenite::{Message as Frame, protocol::WebSocketConfig};

use crate::common::Error;

type Peers = Arc<Mutex<HashMap<(String, u8), mpsc::UnboundedSender<Frame>>>>;

/// Serves the relay on a free port of 127.0.0.1 and prints the port on
/// stdout: `switchboard-bench-outside relay`.
pub async fn serve() -> Result<(), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?.port());
    let peers: Peers = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let peers = peers.clone();
        tokio::spawn(async move {
            // The server's own buffer sizes (axum's WebSocket on the same
            // tungstenite): 4 KiB to read, nothing kept to write.
            let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
            let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
                return;
            };
            let (mut sink, mut stream) = socket.split();
            let Some(Ok(Frame::Text(join))) = stream.next().await else { return };
            let mut words = join.split_whitespace().skip(1);
            let (Some(chat), Some(side)) = (words.next().map(str::to_owned), words.next()) else { return };
            let side: u8 = if side == "1" { 1 } else { 0 };
            let (tx, mut rx) = mpsc::unbounded_channel();
            peers.lock().expect("peers").insert((chat.clone(), side), tx);
            tokio::spawn(async move {
                while let Some(frame) = rx.recv().await {
                    if sink.send(frame).await.is_err() {
                        return;
                    }
                }
            });
            while let Some(Ok(frame)) = stream.next().await {
                if let Frame::Text(_) = frame {
                    let other = peers.lock().expect("peers").get(&(chat.clone(), 1 - side)).cloned();
                    if let Some(other) = other {
                        let _ = other.send(frame);
                    }
                }
            }
            peers.lock().expect("peers").remove(&(chat, side));
        });
    }
}

/// The relay, started as a child process of this binary.
pub struct Relay {
    pub child: tokio::process::Child,
    pub url: String,
}

impl Relay {
    pub async fn start() -> Result<Self, Error> {
        let (child, port) = crate::common::child(&["relay".as_ref()]).await?;
        Ok(Self { child, url: format!("ws://127.0.0.1:{port}") })
    }

    pub fn pid(&self) -> Result<u32, Error> {
        Ok(self.child.id().ok_or("the relay exited")?)
    }

    /// A socket to the relay, joined to one side of `chat`.
    pub async fn join(&self, chat: usize, side: u8) -> Result<crate::common::Socket, Error> {
        let (mut socket, _) = tokio_tungstenite::connect_async(self.url.as_str()).await?;
        socket.send(Frame::text(format!("join {chat} {side}"))).await?;
        Ok(socket)
    }
}
