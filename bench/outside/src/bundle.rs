//! Scenario 7: what a browser downloads before the pages hydrate, the
//! release WASM and JS, gzip-compressed (level 6, what a compressing proxy
//! or CDN sends by default).

use std::io::Write;

use flate2::{Compression, write::GzEncoder};
use serde_json::{Value, json};

use crate::common::Error;

/// Sizes of `{site}/pkg/*.wasm` and `*.js`: (figure, raw sizes, data).
pub fn sizes(site: &str) -> Result<(String, String, f64, Value), Error> {
    let dir = format!("{site}/pkg");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)
        .map_err(|e| format!("{dir}: {e} (build with cargo leptos build --release)"))?
    {
        let path = entry?.path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js")) {
            let bytes = std::fs::read(&path)?;
            let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
            gz.write_all(&bytes)?;
            let zipped = gz.finish()?.len();
            files.push((
                path.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                bytes.len(),
                zipped,
            ));
        }
    }
    if files.is_empty() {
        return Err(format!("no .wasm or .js under {dir}").into());
    }
    let kib = |b: usize| b as f64 / 1024.0;
    let raw: usize = files.iter().map(|f| f.1).sum();
    let zipped: usize = files.iter().map(|f| f.2).sum();
    let each: Vec<String> = files.iter().map(|(name, _, z)| format!("{name} {:.0} KiB", kib(*z))).collect();
    Ok((
        format!("{:.0} KiB gzip ({})", kib(zipped), each.join(", ")),
        format!("{:.0} KiB uncompressed", kib(raw)),
        kib(zipped),
        json!({ "files": files.iter().map(|(n, r, z)| json!({ "file": n, "bytes": r, "gzip_bytes": z })).collect::<Vec<_>>(),
                "gzip_bytes": zipped, "bytes": raw }),
    ))
}
