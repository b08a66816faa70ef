//! The server binary's subcommands. `serve` is the default.

use clap::{Parser, Subcommand};

use crate::{Application, config::Config, startup};

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "Switchboard customer support server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve HTTP (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
}

pub async fn run(cli: Cli, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run(startup::shutdown_on_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            startup::connect_and_migrate(&config).await?;
            println!("migrations applied");
        }
    }
    Ok(())
}
