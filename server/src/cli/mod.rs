//! The server binary's subcommands. `serve` is the default.

use clap::{Parser, Subcommand};
use domain::{
    actor::Actor,
    agents::{self, NewAgent},
    types::Role,
};

use crate::{Application, config::Config, seed, startup};

mod import;

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
    /// Create a global admin who can sign in with this e-mail and password.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// At least 12 characters. Prefer SWITCHBOARD_ADMIN_PASSWORD to keep it out of shell history.
        #[arg(long, env = "SWITCHBOARD_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Create an API token for an agent or bot and print it once.
    CreateToken {
        /// The agent's e-mail address.
        #[arg(long)]
        agent: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Load the demo data set (idempotent): 3 accounts, 29 support types,
    /// 30 agents, 2 bots... and 30 days of history.
    SeedDemo,
    /// Import the history of another helpdesk into an account: a DeskPro,
    /// Zendesk or Chatwoot JSON export, or a generic JSONL or CSV file.
    /// Resumes an interrupted run of the same file; running it again
    /// creates nothing twice. Ctrl-C cancels after the current batch.
    Import {
        /// The file to read.
        file: std::path::PathBuf,
        /// The account (its slug).
        #[arg(long)]
        account: String,
        /// deskpro, zendesk, chatwoot, jsonl or csv.
        #[arg(long)]
        format: domain::import::Format,
        /// The namespace of the file's ids (default: the format's name).
        #[arg(long)]
        source: Option<String>,
        /// Say what would be created, matched and skipped, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// A department, group or inbox and the support type it becomes (repeatable).
        #[arg(long = "map-type", value_name = "GROUP=TYPE_SLUG", value_parser = pair)]
        map_type: Vec<(String, String)>,
        /// The support type of groups neither mapped nor named like a type.
        #[arg(long, value_name = "TYPE_SLUG")]
        default_type: Option<String>,
        /// A source agent's e-mail and this account's agent to credit (repeatable).
        #[arg(long = "map-agent", value_name = "SOURCE_EMAIL=AGENT_EMAIL", value_parser = pair)]
        map_agent: Vec<(String, String)>,
        /// Agents the account does not have: "create" them deactivated, or
        /// the e-mail of an agent to credit instead.
        #[arg(long, default_value = "create", value_name = "create|EMAIL")]
        unmatched_agents: String,
    },
    /// The report rollups.
    Rollups {
        #[command(subcommand)]
        action: RollupsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RollupsCommand {
    /// Recompute every session's report facts and the daily rollups from
    /// scratch, with a progress bar. Safe while the server runs.
    Rebuild {
        /// Only this account (its slug); every account when absent.
        #[arg(long)]
        account: Option<String>,
    },
}

fn pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

async fn account_by_slug(
    pool: &sqlx::PgPool,
    slug: &str,
) -> Result<domain::types::AccountId, Box<dyn std::error::Error>> {
    Ok(domain::accounts::list(pool, &Actor::System)
        .await?
        .into_iter()
        .find(|a| a.slug.eq_ignore_ascii_case(slug))
        .ok_or_else(|| format!("no account with the slug {slug:?}"))?
        .id)
}

pub async fn run(cli: Cli, config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Serve = command {
        let app = Application::build(config).await?;
        app.run(startup::shutdown_on_signal()).await?;
        tracing::info!("stopped");
        return Ok(());
    }
    let pool = startup::connect_and_migrate(&config).await?;
    domain::import::files::allow_private_sources(config.import_fetch_allow_private);
    match command {
        Command::Serve => unreachable!("handled above"),
        Command::Migrate => println!("migrations applied"),
        Command::CreateAdmin { email, password, name } => {
            let admin = agents::create(
                &pool,
                &Actor::System,
                NewAgent {
                    account_id: None,
                    email,
                    display_name: name,
                    role: Role::Admin,
                    max_concurrent: Some(0),
                    password: Some(password),
                },
            )
            .await?;
            println!("created global admin {} ({})", admin.email, admin.id);
        }
        Command::CreateToken { agent, label } => {
            let agent = agents::find_by_email(&pool, &Actor::System, &agent).await?;
            let (token, secret) = domain::tokens::create(&pool, &Actor::System, agent.id, &label).await?;
            eprintln!("token {} for {} — shown once, store it now:", token.id, agent.email);
            println!("{secret}");
        }
        Command::SeedDemo => {
            let report = seed::seed_demo(&pool).await?;
            if report.created.is_empty() && report.history_sessions == 0 {
                println!("demo data already present; nothing to do");
            } else {
                println!(
                    "created {} records and {} historical sessions",
                    report.created.len(),
                    report.history_sessions
                );
            }
            for skipped in &report.skipped {
                println!("left as it is: {skipped}");
            }
            println!("demo logins (password: {}):", seed::DEMO_PASSWORD);
            println!("  admin@example.com       global admin");
            println!("  supervisor@example.com  supervisor, Northwind Retail");
            println!("  agent1@example.com … agent30@example.com");
        }
        Command::Import {
            file,
            account,
            format,
            source,
            dry_run,
            map_type,
            default_type,
            map_agent,
            unmatched_agents,
        } => {
            let account = account_by_slug(&pool, &account).await?;
            let mapping = domain::import::run::mapping_from_names(
                &pool,
                account,
                &map_type,
                default_type.as_deref(),
                &map_agent,
                &unmatched_agents,
            )
            .await?;
            let files = domain::attachments::Files::connect(&pool, &config.attachments)
                .await?
                .with_scanner(config.clamd_addr.clone());
            import::run(&pool, &files, account, &file, format, source, dry_run, mapping).await?;
        }
        Command::Rollups { action: RollupsCommand::Rebuild { account } } => {
            let account = match account {
                Some(slug) => Some(account_by_slug(&pool, &slug).await?),
                None => None,
            };
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} rebuilding rollups [{bar:40}] {pos}/{len} sessions ({per_sec}, {eta} left)",
                )?
                .progress_chars("=> "),
            );
            let started = std::time::Instant::now();
            let done = domain::reports::facts::rebuild(&pool, account, |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            println!(
                "rebuilt the report rollups of {done} sessions in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
