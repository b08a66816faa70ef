//! Swagger UI at `/api/docs`, over the OpenAPI document at
//! `/api/v1/openapi.json`.
//!
//! The UI's files come from the `swagger-ui-dist` npm package, read at run
//! time from [`Config::swagger_ui_dir`](crate::config::Config::swagger_ui_dir)
//! (nothing is downloaded at build time). The page has no inline script: the
//! small initializer is served as `/api/docs/init.js`.

use std::{path::PathBuf, sync::Arc};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::AppState;

/// Where the `swagger-ui-dist` files are.
#[derive(Debug, Clone)]
pub struct SwaggerUiDir(pub Arc<PathBuf>);

/// The files of `swagger-ui-dist` the page needs, with their content types.
const ASSETS: &[(&str, &str)] = &[
    ("swagger-ui.css", "text/css; charset=utf-8"),
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
];

/// Scripts and styles from this origin only (Swagger UI sets inline style
/// attributes, hence `'unsafe-inline'` for styles but not for scripts).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/api/v1/openapi.json"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
"#;

const INIT_JS: &str = r##""use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
"##;

/// `/api/docs` and its assets, to be merged at the root.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/docs", get(page)).route("/api/docs/{file}", get(asset))
}

/// 503 with a plain message naming the directory that was looked for.
fn missing(dir: &std::path::Path) -> Response {
    let message = format!(
        "Swagger UI is not installed: no swagger-ui-dist files in {}.\n\
         Run `npm install` at the repository root, or set SWAGGER_UI_DIR to the swagger-ui-dist directory.\n",
        dir.display()
    );
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message)
        .into_response()
}

fn installed(dir: &std::path::Path) -> bool {
    ASSETS.iter().all(|(name, _)| dir.join(name).is_file())
}

/// The Swagger UI page.
pub async fn page(State(SwaggerUiDir(dir)): State<SwaggerUiDir>) -> Response {
    if !installed(&dir) {
        return missing(&dir);
    }
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    response
}

/// `init.js`, or one of [`ASSETS`] from the directory; anything else is 404.
pub async fn asset(State(SwaggerUiDir(dir)): State<SwaggerUiDir>, Path(file): Path<String>) -> Response {
    if file == "init.js" {
        return ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], INIT_JS).into_response();
    }
    let Some((name, content_type)) = ASSETS.iter().find(|(name, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n")
            .into_response();
    };
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=3600")], bytes)
                .into_response()
        }
        Err(err) => {
            tracing::warn!(dir = %dir.display(), file = name, error = %err, "cannot read a Swagger UI file");
            missing(&dir)
        }
    }
}
