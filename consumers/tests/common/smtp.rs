//! A tiny SMTP sink for the mail tests: accepts SMTP on 127.0.0.1 and keeps
//! each message's envelope recipients and data.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Envelope recipients and data of each message received.
type Mails = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// Accepts SMTP on 127.0.0.1 and keeps each message's envelope recipients and
/// data.
#[derive(Clone, Default)]
pub struct Sink {
    mails: Mails,
}

impl Sink {
    pub async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let url = format!("smtp://{}", listener.local_addr().expect("addr"));
        let sink = Self::default();
        let mails = sink.mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mails = mails.clone();
                tokio::spawn(async move {
                    let _ = serve_smtp(stream, mails).await;
                });
            }
        });
        (sink, url)
    }

    pub fn mails(&self) -> Vec<(Vec<String>, String)> {
        self.mails.lock().expect("lock").clone()
    }
}

async fn serve_smtp(stream: tokio::net::TcpStream, mails: Mails) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ready\r\n").await?;
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => write.write_all(b"250 sink\r\n").await?,
            "MAIL" => {
                rcpt.clear();
                write.write_all(b"250 ok\r\n").await?;
            }
            "RCPT" => {
                rcpt.push(line.trim_end().to_owned());
                write.write_all(b"250 ok\r\n").await?;
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                mails.lock().expect("lock").push((rcpt.clone(), data));
                write.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
}
