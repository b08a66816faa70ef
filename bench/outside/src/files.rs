//! Attachments: customers upload 1280×800 PNG screenshots into their chats
//! (`POST /api/v1/sessions/{id}/attachments`: the server sniffs, hashes,
//! makes the thumbnail and stores the file), 32 at a time; then the
//! thumbnails are fetched with the customers' tokens.
//!
//! Floors in the same run: the thumbnail made in this process with the
//! same library and size (`image`, 320 px on the longer side), what an
//! upload cannot go below on this CPU; and the server's cheapest request
//! (`GET /healthz`) under the same concurrency.

use std::{io::Cursor, sync::Arc, time::Instant};

use serde_json::{Value, json};

use crate::common::{self, Api, Error, concurrently, percentiles};

const CLIENTS: usize = 32;

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

/// The floor: decode, shrink to 320 px, encode, in this process.
fn thumbnail(png: &[u8]) -> Result<usize, Error> {
    let decoded = image::load_from_memory_with_format(png, image::ImageFormat::Png)?;
    let mut out = Vec::new();
    decoded.thumbnail(320, 320).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)?;
    Ok(out.len())
}

/// Returns the rows' figure, raw limit, ratio and data.
pub async fn attachments(
    api: &Api,
    admin: &str,
    account: &str,
    uploads: usize,
) -> Result<(String, String, String, Value), Error> {
    common::support_type(api, admin, account, "files").await?;
    let mut chats = Vec::new();
    for _ in 0..CLIENTS {
        chats.push(common::open_chat(api, "files", "Here is a screenshot").await?);
    }
    let chats = Arc::new(chats);
    let png = Arc::new(screenshot()?);

    let mut floor = Vec::new();
    let started = Instant::now();
    for _ in 0..20 {
        let t = Instant::now();
        thumbnail(&png)?;
        floor.push(t.elapsed());
    }
    let floor_rate = 20.0 / started.elapsed().as_secs_f64();
    let (_, floor_p99, _) = percentiles(floor);

    let uploaded = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (times, took) = concurrently(uploads, CLIENTS, {
        let (http, base, chats, png, uploaded) =
            (api.http.clone(), api.base.clone(), chats.clone(), png.clone(), uploaded.clone());
        move |i| {
            let (http, base, chats, png, uploaded) =
                (http.clone(), base.clone(), chats.clone(), png.clone(), uploaded.clone());
            async move {
                let (session, token) = &chats[i % chats.len()];
                let part = reqwest::multipart::Part::bytes(png.to_vec()).file_name("screenshot.png");
                let res = http
                    .post(format!("{base}/api/v1/sessions/{session}/attachments"))
                    .bearer_auth(token)
                    .multipart(reqwest::multipart::Form::new().part("file", part))
                    .send()
                    .await?;
                let body = common::created(res, "upload").await?;
                if body["thumbnail_width"].as_i64().is_none() {
                    return Err(format!("upload made no thumbnail: {body}").into());
                }
                let id = common::id(&body)?;
                uploaded.lock().expect("uploaded").push((id, token.clone()));
                Ok(())
            }
        }
    })
    .await?;
    let upload_rate = uploads as f64 / took.as_secs_f64();
    let (u50, u99, _) = percentiles(times);

    let uploaded = Arc::new(std::mem::take(&mut *uploaded.lock().expect("uploaded")));
    let fetches = uploads * 5;
    let fetch = |thumbnails: bool| {
        let (http, base, uploaded) = (api.http.clone(), api.base.clone(), uploaded.clone());
        move |i: usize| {
            let (http, base, uploaded) = (http.clone(), base.clone(), uploaded.clone());
            async move {
                let (id, token) = &uploaded[i % uploaded.len()];
                let url = if thumbnails {
                    format!("{base}/api/v1/attachments/{id}/thumbnail")
                } else {
                    format!("{base}/healthz")
                };
                let res = http.get(url).bearer_auth(token).send().await?;
                let status = res.status();
                let bytes = res.bytes().await?;
                if !status.is_success() || bytes.is_empty() {
                    return Err(format!("GET: {status}, {} bytes", bytes.len()).into());
                }
                Ok(())
            }
        }
    };
    let (times, took) = concurrently(fetches, CLIENTS, fetch(true)).await?;
    let thumb_rate = fetches as f64 / took.as_secs_f64();
    let (t50, t99, _) = percentiles(times);
    let (times, took) = concurrently(fetches, CLIENTS, fetch(false)).await?;
    let health_rate = fetches as f64 / took.as_secs_f64();
    let (_, h99, _) = percentiles(times);

    let kb = png.len() / 1000;
    Ok((
        format!(
            "upload a {kb} KB screenshot, {CLIENTS} at a time: {upload_rate:.0}/s ({:.0} MB/s), p50 {u50:.0} / p99 {u99:.0} ms; fetch a thumbnail (token, scope, store): {thumb_rate:.0}/s, p50 {t50:.1} / p99 {t99:.1} ms",
            upload_rate * png.len() as f64 / 1e6
        ),
        format!(
            "the thumbnail in this process, one at a time: {floor_rate:.0}/s (p99 {floor_p99:.1} ms), ×2 cores ≈ {:.0}/s; `GET /healthz`, {CLIENTS} at a time: {health_rate:.0}/s, p99 {h99:.1} ms",
            floor_rate * 2.0
        ),
        format!(
            "uploads {:.2}× the two-core thumbnail floor; thumbnails {:.2}× /healthz's rate",
            upload_rate / (floor_rate * 2.0),
            thumb_rate / health_rate
        ),
        json!({ "uploads": uploads, "bytes": png.len(), "upload_per_s": upload_rate, "upload_p99_ms": u99,
                "thumbnail_floor_per_s": floor_rate, "thumbnail_fetch_per_s": thumb_rate,
                "thumbnail_fetch_p99_ms": t99, "healthz_per_s": health_rate, "healthz_p99_ms": h99 }),
    ))
}
