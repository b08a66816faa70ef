//! Spawns the real application on a random port against a test's own database.

// Each test crate compiles this module and uses only some of it.
#![allow(dead_code)]

use server::{Application, config::Config};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The worktree's `swagger-ui-dist` (installed by `npm install`).
pub const SWAGGER_UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../node_modules/swagger-ui-dist");

pub fn test_config() -> Config {
    Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        "SWAGGER_UI_DIR" => Some(SWAGGER_UI_DIR.to_owned()),
        _ => None,
    })
    .expect("test config")
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(test_config(), pool).await
}

pub async fn spawn_app_with(config: Config, pool: PgPool) -> TestApp {
    let app = Application::build_with_pool(config, pool).await.expect("build app");
    let base = format!("http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { base, client, shutdown }
}

/// A pool whose server does not exist: what the app sees when PostgreSQL is down.
pub fn unreachable_pool() -> PgPool {
    domain::db::pool("postgres://postgres@127.0.0.1:1/nowhere", 2).expect("lazy pool")
}
