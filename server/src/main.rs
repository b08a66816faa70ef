use clap::Parser;
use server::{cli::Cli, config::Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    server::telemetry::init(&config.log);
    match server::cli::run(cli, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "switchboard stopped with an error");
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
