//! Attachments through the real server over HTTP: customers upload 1280×800
//! screenshots (the server sniffs, hashes, makes the thumbnail and stores
//! the file on the local file system), then thumbnails are fetched. Each
//! figure stands beside its floor, measured in the same run: the thumbnail
//! made in this process by the same function (what an upload cannot go
//! below on this CPU), and the server's cheapest GET (`/healthz`).

use std::{io::Cursor, sync::Arc, time::Instant};

use sqlx::PgPool;

use crate::{Error, Stats, run};

fn screenshot() -> Result<Vec<u8>, Error> {
    let pixels = image::RgbImage::from_fn(1280, 800, |x, y| {
        // Bands and text-like noise compress about like a real screenshot.
        let band = ((y / 40) % 4) as u8 * 40;
        image::Rgb([band.wrapping_add((x % 7) as u8 * 9), 230 - band, ((x * y) % 251) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(pixels).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

pub async fn attachments(pool: &PgPool, scale: usize) -> Result<(), Error> {
    let server = crate::Server::start(pool, "files", &[("RATE_LIMIT_SCALE", "1000")]).await?;
    let base = server.base.clone();

    let mut chats = Vec::new();
    for _ in 0..32 {
        let opened = domain::auth::open_chat(
            pool,
            "type-0",
            domain::auth::OpenChat { message: Some("Here is a screenshot".into()), ..Default::default() },
        )
        .await?;
        chats.push((opened.session.id, opened.token));
    }
    let chats = Arc::new(chats);
    let png = Arc::new(screenshot()?);
    let client = reqwest::Client::new();

    // The floor: the thumbnail alone, in this process.
    let mut floor = Vec::new();
    let started = Instant::now();
    for _ in 0..20 {
        let t = Instant::now();
        domain::attachments::thumbnail("image/png", &png)?;
        floor.push(t.elapsed());
    }
    Stats::from_latencies(floor, started.elapsed())
        .print("floor: the thumbnail of a 1280×800 PNG, in-process, one at a time");

    let uploaded = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let n = 200 * scale;
    let stats = run(n, {
        let (client, base, chats, png, uploaded) =
            (client.clone(), base.clone(), chats.clone(), png.clone(), uploaded.clone());
        move |i| {
            let (client, base, chats, png, uploaded) =
                (client.clone(), base.clone(), chats.clone(), png.clone(), uploaded.clone());
            async move {
                let (session, token) = &chats[i % chats.len()];
                let part = reqwest::multipart::Part::bytes(png.to_vec()).file_name("image.png");
                let res = client
                    .post(format!("{base}/api/v1/sessions/{session}/attachments"))
                    .bearer_auth(token)
                    .multipart(reqwest::multipart::Form::new().part("file", part))
                    .send()
                    .await?;
                if res.status() != reqwest::StatusCode::CREATED {
                    return Err(format!("upload: {} {}", res.status(), res.text().await?).into());
                }
                let body: serde_json::Value = res.json().await?;
                let id = body["id"].as_str().ok_or("no id")?.to_owned();
                uploaded.lock().await.push((id, token.clone()));
                Ok(())
            }
        }
    })
    .await?;
    let mb = png.len() as f64 * n as f64 / 1e6;
    stats.print(&format!(
        "upload a {} KB screenshot over HTTP (sniff, SHA-256, thumbnail, store; {:.1} MB/s)",
        png.len() / 1000,
        mb / stats.elapsed.as_secs_f64()
    ));

    let uploaded = Arc::new(uploaded.lock().await.clone());
    let n = 1_000 * scale;
    let fetch = |path: fn(&str) -> String| {
        let (client, base, uploaded) = (client.clone(), base.clone(), uploaded.clone());
        move |i: usize| {
            let (client, base, uploaded) = (client.clone(), base.clone(), uploaded.clone());
            async move {
                let (id, token) = &uploaded[i % uploaded.len()];
                let res = client.get(format!("{base}{}", path(id))).bearer_auth(token).send().await?;
                if !res.status().is_success() {
                    return Err(format!("GET: {}", res.status()).into());
                }
                res.bytes().await?;
                Ok(())
            }
        }
    };
    run(n, fetch(|id| format!("/api/v1/attachments/{id}/thumbnail")))
        .await?
        .print("fetch a thumbnail (authenticated, scope checked, from the store)");
    run(n, fetch(|_| "/healthz".to_owned())).await?.print("floor: the server's cheapest GET (/healthz)");

    server.stop().await;
    Ok(())
}
