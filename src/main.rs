//! The `cybermed` command: serve (default), migrate, create-admin, print-schema.
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use cybermed::{
    app,
    config::Config,
    db,
    domain::{Role, accounts},
    telemetry,
};

#[derive(Parser)]
#[command(name = "cybermed", version, about = "CyberMed: appointment backend for clinics (GraphQL)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database up, then serve until SIGTERM or Ctrl-C.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create an admin, or promote an existing account. Password from CYBERMED_ADMIN_PASSWORD, else stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
    },
    /// Fill an empty database with a small demo clinic and print one line per login: `<ROLE> <email> <password>`.
    SeedDemo,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    PrintSchema,
    /// Print the mean time of one argon2id password verification, in microseconds (for `bench/`).
    #[command(hide = true)]
    HashBench {
        #[arg(long, default_value_t = 20)]
        iterations: u32,
    },
}

/// Threads of tokio's blocking pool (tokio's default is 512). Nothing here blocks for long on it:
/// it writes the file outbox's emails (the sender delivers 4 at a time) and resolves host names.
/// Every thread that allocates gets a glibc malloc arena of its own, which keeps what it freed; a
/// burst of emails used to start 35 threads and leave up to 16 arenas (glibc: 8 per core) behind.
const BLOCKING_THREADS: usize = 4;

fn main() -> std::process::ExitCode {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(BLOCKING_THREADS).build();
    let Ok(runtime) = runtime else {
        eprintln!("cybermed: cannot start the async runtime");
        return std::process::ExitCode::FAILURE;
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cybermed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::HashBench { iterations } = command {
        let t = cybermed::auth::password::verify_time(iterations).map_err(|_| anyhow::anyhow!("hashing failed"))?;
        writeln!(std::io::stdout().lock(), "{}", t.as_micros())?;
        return Ok(());
    }
    if let Command::PrintSchema = command {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", cybermed::graphql::schema::sdl().trim_end())?;
        return Ok(());
    }

    let config = Config::from_env()?;
    // Logs go to stderr: stdout carries only what a command prints (seed-demo's logins).
    telemetry::init(config.log_format);
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            db::open(config.database_url.expose(), Some(1)).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email, first_name, last_name } => {
            let password = match std::env::var("CYBERMED_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => read_password(&email)?,
            };
            let state = core(config).await?;
            match accounts::create_admin(
                &state.store,
                &state.passwords,
                &state.sessions,
                &email,
                &first_name,
                &last_name,
                password,
            )
            .await
            {
                Ok(user) => {
                    eprintln!("admin {} ready (id {})", user.email, user.id);
                    Ok(())
                }
                Err(cybermed::error::AppError::BadInput { field, message }) => {
                    bail!("{field}: {message}")
                }
                Err(_) => bail!("could not create the admin (see the log)"),
            }
        }
        Command::SeedDemo => {
            let state = core(config).await?;
            match cybermed::domain::demo::seed(state.seeder()).await {
                Ok(logins) => {
                    let mut out = std::io::stdout().lock();
                    for l in logins {
                        let role = match l.role {
                            Role::Admin => "ADMIN",
                            Role::Doctor => "DOCTOR",
                            Role::Patient => "PATIENT",
                        };
                        writeln!(out, "{role} {} {}", l.email, l.password)?;
                    }
                    Ok(())
                }
                Err(cybermed::error::AppError::BadInput { message, .. }) => bail!("{message}"),
                Err(_) => bail!("could not seed the demo clinic (see the log)"),
            }
        }
        Command::PrintSchema | Command::HashBench { .. } => Ok(()),
    }
}

/// The admin's password from the terminal, not echoed; from one line of stdin when stdin is not a
/// terminal (a pipe or a file).
fn read_password(email: &str) -> anyhow::Result<String> {
    let prompt = format!("Password for {email}: ");
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).context("reading the password from the terminal");
    }
    eprint!("{prompt}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    if config.jwt_secret_generated {
        tracing::warn!(
            "JWT_SECRET is not set: using a random key for this process; tokens will not survive a restart \
             and replicas will not accept each other's tokens"
        );
    }
    let application = app::Application::build(config).await?;
    // `metrics_port` is left out of the line when there is no metrics listener.
    tracing::info!(port = application.port(), metrics_port = application.metrics_port(), "cybermed listening");
    application.run_until(app::shutdown_signal()).await
}

/// The core's services, for a command that works on the database without serving (no GraphQL
/// schema, no mailer).
async fn core(config: Config) -> anyhow::Result<cybermed_core::Core> {
    let pools = db::open(config.database_url.expose(), config.database_max_connections).await?;
    cybermed_core::Core::new(config, pools).await
}
