//! `hirestream up` run as a child process by the benchmarks that must measure or kill it
//! apart from themselves.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use api::settings::Settings;

use crate::pipeline::BenchError;

/// `hirestream up` as a child process on a fixed loopback port, with the run's database,
/// broker, topics and vector directory; its output goes to a log file beside the vectors.
#[derive(Debug)]
pub struct UpProcess {
    command: Command,
    pub base: String,
    log: PathBuf,
    child: Option<Child>,
}

impl UpProcess {
    /// With at most `connections` database connections.
    pub fn new(settings: &Settings, binary: &Path, connections: usize) -> std::io::Result<Self> {
        let port = crate::broker::free_loopback_port()?;
        std::fs::create_dir_all(&settings.matching.data_dir)?;
        let log = PathBuf::from(&settings.matching.data_dir).join("up.log");
        let mut command = Command::new(binary);
        command
            .arg("up")
            .env("HIRESTREAM_DATABASE__URL", settings.database.url.expose())
            .env(
                "HIRESTREAM_DATABASE__MAX_CONNECTIONS",
                connections.to_string(),
            )
            .env("HIRESTREAM_KAFKA__BROKERS", &settings.kafka.brokers)
            .env(
                "HIRESTREAM_KAFKA__TOPIC_PREFIX",
                &settings.kafka.topic_prefix,
            )
            .env("HIRESTREAM_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("HIRESTREAM_MATCHING__DATA_DIR", &settings.matching.data_dir)
            .env("HIRESTREAM_MAIL__DIRECTORY", &settings.mail.directory)
            .env(
                "HIRESTREAM_AUTH__JWT_SECRET",
                settings.auth.jwt_secret.expose(),
            )
            .env(
                "HIRESTREAM_PAYMENTS__WEBHOOK_SECRET",
                settings.payments.webhook_secret.expose(),
            )
            .env(
                "HIRESTREAM_PRIVACY__MASTER_KEY",
                settings.privacy.master_key.expose(),
            )
            // The benchmarks measure the spine, not the per-caller limit.
            .env("HIRESTREAM_HTTP__RATE_LIMIT_PER_SECOND", "0")
            .env(
                api::settings::DEV_MODE_VARIABLE,
                settings.dev_mode.to_string(),
            );
        Ok(Self {
            command,
            base: format!("http://127.0.0.1:{port}"),
            log,
            child: None,
        })
    }

    /// Starts the process; its output is appended to the log.
    pub fn start(&mut self) {
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|file| Ok((file.try_clone()?, file)));
        if let Ok((out, err)) = output {
            self.command.stdout(out).stderr(err);
        }
        self.child = self.command.spawn().ok();
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        crate::broker::kill(&mut self.child);
    }

    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<(), BenchError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            let exited = self.child.as_mut().map(|c| c.try_wait());
            if Instant::now() > deadline || !matches!(exited, Some(Ok(None))) {
                return Err(format!(
                    "hirestream up did not become ready; see {}",
                    self.log.display()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The parts `/readyz` lists in a state other than running, as `name: state`.
    pub async fn parts_not_running(
        &self,
        http: &reqwest::Client,
    ) -> Result<Vec<String>, BenchError> {
        let ready: serde_json::Value = http
            .get(format!("{}/readyz", self.base))
            .send()
            .await?
            .json()
            .await?;
        let parts = ready["parts"].as_object().ok_or("/readyz lists no parts")?;
        Ok(parts
            .iter()
            .filter(|(_, part)| part["state"] != "running")
            .map(|(name, part)| format!("{name}: {}", part["state"]))
            .collect())
    }

    /// The resident memory of the process, in bytes, as the kernel counts it.
    pub fn resident_bytes(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for UpProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
