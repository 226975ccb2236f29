//! A throw-away `substrate-contracts-node --dev --tmp` for tests: started on a free port,
//! ready once its RPC answers, killed (with its temporary chain) when dropped.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{rpc::Retry, ChainError, RpcChain};

/// Why a dev node could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DevNodeError {
    /// The binary is not installed.
    #[error("substrate-contracts-node not found (looked for {looked_at}); run scripts/setup (or scripts/install-node), or set DATAMARKET_NODE to its path")]
    NotInstalled {
        /// Where it was looked for.
        looked_at: String,
    },
    /// It could not be started or stopped answering.
    #[error("substrate-contracts-node {what}: {reason}")]
    Failed {
        /// What went wrong.
        what: String,
        /// Details, with the end of its log.
        reason: String,
    },
}

/// A running dev node.
pub struct DevNode {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// How long a dev node may take to answer RPC.
const STARTUP: Duration = Duration::from_secs(60);

impl DevNode {
    /// Where the binary is: `$DATAMARKET_NODE`, else `$DATAMARKET_BIN` or
    /// `~/.cache/datamarket/bin` (where scripts/setup puts it), else `PATH`.
    pub fn binary() -> Result<PathBuf, DevNodeError> {
        if let Some(path) = std::env::var_os("DATAMARKET_NODE") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(DevNodeError::NotInstalled {
                    looked_at: format!("DATAMARKET_NODE={}", path.display()),
                })
            };
        }
        let bin_dir = std::env::var_os("DATAMARKET_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").unwrap_or_default();
                Path::new(&home).join(".cache/datamarket/bin")
            });
        let mut looked = vec![bin_dir.display().to_string()];
        let candidate = bin_dir.join("substrate-contracts-node");
        if candidate.is_file() {
            return Ok(candidate);
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let candidate = dir.join("substrate-contracts-node");
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
            looked.push("PATH".into());
        }
        Err(DevNodeError::NotInstalled {
            looked_at: looked.join(", "),
        })
    }

    /// Starts a node with a temporary chain on free ports and waits until its RPC answers.
    pub fn start() -> Result<Self, DevNodeError> {
        let binary = Self::binary()?;
        let failed = |what: &str, reason: String| DevNodeError::Failed {
            what: what.to_owned(),
            reason,
        };
        let rpc_port = free_port().map_err(|e| failed("found no free port", e.to_string()))?;
        let p2p_port = free_port().map_err(|e| failed("found no free port", e.to_string()))?;
        let mut child = Command::new(&binary)
            .args(["--dev", "--tmp", "--no-prometheus", "--no-telemetry"])
            .args(["--rpc-port", &rpc_port.to_string()])
            .args(["--port", &p2p_port.to_string()])
            .args(["--rpc-max-connections", "1000"])
            // Keep the state of every finalized block: an indexer reads the events of
            // blocks far behind the head (the default keeps the last 256).
            .args(["--state-pruning", "archive-canonical"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                failed(
                    &format!("could not be started from {}", binary.display()),
                    e.to_string(),
                )
            })?;
        // Keep the node's log (it writes to stderr) for error messages, and drain the pipe
        // so that the node never blocks on it.
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() >= 200 {
                        log.remove(0);
                    }
                    log.push(line);
                }
            });
        }
        let mut node = Self {
            child,
            url: format!("ws://127.0.0.1:{rpc_port}"),
            log,
        };
        node.wait_ready()?;
        Ok(node)
    }

    /// Its WebSocket URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A client connected to it.
    pub fn connect(&self) -> Result<RpcChain, ChainError> {
        RpcChain::connect(&self.url)
    }

    /// The last lines the node logged.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log[log.len().saturating_sub(lines)..].join("\n")
    }

    fn wait_ready(&mut self) -> Result<(), DevNodeError> {
        let started = Instant::now();
        let quick = Retry {
            attempts: 1,
            ..Retry::default()
        };
        loop {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                return Err(DevNodeError::Failed {
                    what: format!("exited with {status} while starting"),
                    reason: self.log_tail(20),
                });
            }
            // Ready when it serves metadata (the RPC server starts before the runtime
            // is ready to answer everything).
            if RpcChain::connect_with(&self.url, quick).is_ok() {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                return Err(DevNodeError::Failed {
                    what: format!("did not answer on {} within {STARTUP:?}", self.url),
                    reason: self.log_tail(20),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        // Interrupt first: the node removes its --tmp directory only on a clean exit.
        // Kill it if it has not stopped within 5 s.
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port nobody listens on right now.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
