//! `facenet-server [--port 8000] [--data-dir data] [--token TOKEN]`: serves the session page and
//! the API. `facenet-server users add NAME [--admin]` makes an account and prints its token.

use clap::Parser;
use facenet_server::Schedule;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "facenet-server", version, about = "Serve the facenet-wasm session page and its API over SQLite")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Port on 127.0.0.1
    #[arg(long, env = "FACENET_PORT", default_value_t = 8000)]
    port: u16,
    /// Where the SQLite database (facenet.sqlite3) lives; created if missing
    #[arg(long, env = "FACENET_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// An admin token of the server's own, beside the accounts' (for scripts and one-teacher
    /// setups); without it, the first start creates the account "admin" and prints its token once
    #[arg(long, env = "FACENET_TOKEN")]
    token: Option<String>,
    /// Address to listen on
    #[arg(long, env = "FACENET_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Checkout whose www/, pkg/ and models/ are served
    #[arg(long, env = "FACENET_ROOT", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    root: PathBuf,
    /// Days a lesson's faces (all but pupils' reference faces) are kept
    #[arg(long, env = "FACENET_KEEP_LESSON_FACES_DAYS", default_value_t = Schedule::default().lesson_faces_days)]
    keep_lesson_faces_days: u32,
    /// Days a whole photo's image is kept, when a teacher uploads one
    #[arg(long, env = "FACENET_KEEP_PHOTOS_DAYS", default_value_t = Schedule::default().photos_days)]
    keep_photos_days: u32,
    /// Days a pupil's reference faces are kept after they leave their last class (0: at once)
    #[arg(long, env = "FACENET_KEEP_LEAVERS_DAYS", default_value_t = Schedule::default().leavers_days)]
    keep_leavers_days: u32,
    /// The oldest a reference face may be, in days (then the pupil enrols again)
    #[arg(long, env = "FACENET_TEMPLATE_MAX_DAYS", default_value_t = Schedule::default().template_max_days)]
    template_max_days: u32,
    /// Erase an erased pupil's attendance marks too (default: kept, as the school's attendance record)
    #[arg(long, env = "FACENET_ERASE_ATTENDANCE_OF_ERASED")]
    erase_attendance_of_erased: bool,
    /// Log lines as text for people or JSON for log collectors; the level comes from RUST_LOG
    /// (default info; e.g. RUST_LOG=debug also logs static files)
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Accounts: teachers and admins, with their tokens
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
}

#[derive(clap::Subcommand)]
enum UsersAction {
    /// Create an account; prints its token alone on the last line (shown once, stored hashed)
    Add {
        /// Its name, unique
        name: String,
        /// An admin creates accounts and classes and reaches every class
        #[arg(long)]
        admin: bool,
        /// The token stops working after this many days (default never)
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List the accounts
    List,
    /// Revoke every token of an account
    Revoke {
        /// The account's name
        name: String,
    },
}

/// `facenet-server users …`.
fn users(action: UsersAction, data_dir: &std::path::Path) -> std::process::ExitCode {
    use facenet_server::accounts;
    let done = match action {
        UsersAction::Add { name, admin, expires_in_days } => {
            accounts::add_user_to(data_dir, &name, admin, expires_in_days).map(|u| {
                let role = if u.admin { "admin" } else { "teacher" };
                let expires = u.expires_at.map(|e| format!(", expires {e} UTC")).unwrap_or_default();
                println!("facenet-server: account {} ({}, {role}{expires}); its token, shown this once:", u.id, u.name);
                println!("{}", u.token);
            })
        }
        UsersAction::List => accounts::users_in(data_dir).map(|users| {
            for u in users {
                let role = if u.admin { "admin" } else { "teacher" };
                println!("{}\t{}\t{role}\t{} live tokens\tclasses {:?}", u.id, u.name, u.tokens, u.class_ids);
            }
        }),
        UsersAction::Revoke { name } => {
            accounts::revoke_in(data_dir, &name).map(|n| println!("facenet-server: {n} tokens of {name} revoked"))
        }
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("facenet-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_target(false).init(),
        LogFormat::Json => logs.json().init(),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Some(Command::Users { action }) = args.command {
        return users(action, &args.data_dir);
    }
    init_logs(args.log_format);
    let retention = Schedule {
        lesson_faces_days: args.keep_lesson_faces_days,
        photos_days: args.keep_photos_days,
        leavers_days: args.keep_leavers_days,
        template_max_days: args.template_max_days,
        keep_attendance_of_erased: !args.erase_attendance_of_erased,
    };
    let root = args.root.canonicalize().unwrap_or(args.root.clone());
    if !root.join("pkg/facenet_wasm_bg.wasm").is_file() {
        eprintln!(
            "facenet-server: warning: {}/pkg is not built; run scripts/build-wasm (scripts/run does)",
            root.display()
        );
    }
    // The first start without accounts and without --token: an admin account, its token shown once.
    let first = match args.token {
        Some(_) => None,
        None => match facenet_server::accounts::first_admin(&args.data_dir) {
            Ok(first) => first,
            Err(e) => {
                eprintln!("facenet-server: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    let state = match facenet_server::AppState::open_with(&args.data_dir, args.token.as_deref(), &root, retention) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("facenet-server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("facenet-server: cannot listen on {}:{}: {e}", args.host, args.port);
            return std::process::ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    // The token is printed when it is new (first start) or the caller's own (--token); never an
    // account's stored one, which only its hash is kept of.
    match (&first, &args.token) {
        (Some(admin), _) => {
            println!(
                "facenet-server: first start: created the admin account {:?}; its token, shown this once:",
                admin.name
            );
            println!("facenet-server: http://{address}/#token={}", admin.token);
        }
        (None, Some(token)) => println!("facenet-server: http://{address}/#token={token}"),
        (None, None) => println!(
            "facenet-server: http://{address}/ (sign in with your token; facenet-server users add NAME makes one)"
        ),
    }
    println!("facenet-server: data in {}", args.data_dir.display());
    tracing::info!(
        address,
        data_dir = %args.data_dir.display(),
        model_version = %state.model_version,
        "listening on http://{address}/, data in {}, model version {}",
        args.data_dir.display(),
        state.model_version
    );
    if let Err(e) = state.start_purging().await {
        eprintln!("facenet-server: the retention purge failed: {e}");
        return std::process::ExitCode::FAILURE;
    }
    // Ctrl-C or SIGTERM (a service manager's stop): stop accepting, finish the requests under
    // way (each is bounded by the request timeout), then exit.
    let shutdown = async {
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
        tracing::info!("shutting down: no new requests, finishing those under way");
    };
    if let Err(e) = facenet_server::serve::serve(listener, facenet_server::app(state.clone()), shutdown).await {
        eprintln!("facenet-server: {e}");
        return std::process::ExitCode::FAILURE;
    }
    // Everything in the file itself, the write-ahead log emptied: the background purge still
    // holds the state, so its connections would not close (and checkpoint) on their own.
    if let Err(e) = state.close().await {
        eprintln!("facenet-server: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
