//! `facenet-server [--port 8000] [--data-dir data] [--token TOKEN]`: serves the session page and
//! the API; prints the URL and the token.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "facenet-server", version, about = "Serve the facenet-wasm session page and its API over SQLite")]
struct Args {
    /// Port on 127.0.0.1
    #[arg(long, env = "FACENET_PORT", default_value_t = 8000)]
    port: u16,
    /// Where the SQLite database (facenet.sqlite3) lives; created if missing
    #[arg(long, env = "FACENET_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Bearer token for the API; generated and printed when not given
    #[arg(long, env = "FACENET_TOKEN")]
    token: Option<String>,
    /// Address to listen on
    #[arg(long, env = "FACENET_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Checkout whose www/, pkg/ and models/ are served
    #[arg(long, env = "FACENET_ROOT", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))]
    root: PathBuf,
    /// Log lines as text for people or JSON for log collectors; the level comes from RUST_LOG
    /// (default info; e.g. RUST_LOG=debug also logs static files)
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
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

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    init_logs(args.log_format);
    let token = args.token.clone().unwrap_or_else(random_token);
    let root = args.root.canonicalize().unwrap_or(args.root.clone());
    if !root.join("pkg/facenet_wasm_bg.wasm").is_file() {
        eprintln!(
            "facenet-server: warning: {}/pkg is not built; run scripts/build-wasm (scripts/run does)",
            root.display()
        );
    }
    let state = match facenet_server::AppState::open(&args.data_dir, &token, &root) {
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
    println!("facenet-server: http://{address}/#token={token}");
    println!("facenet-server: token {token}; data in {}", args.data_dir.display());
    tracing::info!(
        address,
        data_dir = %args.data_dir.display(),
        model_version = %state.model_version,
        "listening on http://{address}/, data in {}, model version {}",
        args.data_dir.display(),
        state.model_version
    );
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
    if let Err(e) = axum::serve(listener, facenet_server::app(state)).with_graceful_shutdown(shutdown).await {
        eprintln!("facenet-server: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
