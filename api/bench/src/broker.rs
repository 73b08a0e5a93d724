//! An Apache Kafka broker of a run's own (`scripts/kafka broker`), on a free loopback port,
//! storing in a directory that survives restarts: for the runs and tests that take the broker
//! away and bring it back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long a broker may take to say it started.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct LocalBroker {
    /// The bootstrap address, `127.0.0.1:PORT`.
    pub brokers: String,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// A client the SASL broker accepts (mechanism PLAIN).
pub const SASL_USER: (&str, &str) = ("hirestream", "hirestream-secret");

impl LocalBroker {
    /// Formats fresh storage and starts a broker on it.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(|_, _| None).await
    }

    /// A broker whose only client listener takes SASL (PLAIN, over plain TCP on loopback), as
    /// a managed Kafka does: clients must authenticate as [`SASL_USER`].
    pub async fn start_with_sasl() -> std::io::Result<Self> {
        Self::start_with(|port, controller| {
            let (user, password) = SASL_USER;
            Some(format!(
                "listeners=SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n\
                 advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{port}\n\
                 controller.quorum.voters=1@127.0.0.1:{controller}\n\
                 listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT\n\
                 inter.broker.listener.name=SASL_PLAINTEXT\n\
                 sasl.enabled.mechanisms=PLAIN\n\
                 sasl.mechanism.inter.broker.protocol=PLAIN\n\
                 listener.name.sasl_plaintext.plain.sasl.jaas.config=\
                 org.apache.kafka.common.security.plain.PlainLoginModule required \
                 username=\"broker\" password=\"broker-secret\" user_broker=\"broker-secret\" \
                 user_{user}=\"{password}\";\n"
            ))
        })
        .await
    }

    /// Starts a broker with the listeners `listeners(port, controller_port)` gives (appended
    /// to scripts/kafka-conf/server.properties), or the script's own when `None`.
    async fn start_with(
        listeners: impl FnOnce(u16, u16) -> Option<String>,
    ) -> std::io::Result<Self> {
        let port = free_loopback_port()?;
        let dir =
            std::env::temp_dir().join(format!("hirestream-broker-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        if let Some(listeners) = listeners(port, free_loopback_port()?) {
            let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka-conf");
            let mut properties = std::fs::read_to_string(base.join("server.properties"))?;
            properties.push_str(&listeners);
            properties.push_str(&format!("log.dirs={}\n", dir.join("data").display()));
            std::fs::write(dir.join("server.properties"), properties)?;
        }
        let mut broker = Self {
            brokers: format!("127.0.0.1:{port}"),
            port,
            dir,
            child: None,
        };
        broker.restart().await?;
        Ok(broker)
    }

    /// Starts the broker process again on the same port and storage, and waits until it says
    /// it started (its metadata is then ready).
    pub async fn restart(&mut self) -> std::io::Result<()> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka");
        let log = self.dir.join("broker.log");
        let starts_before = started_lines(&log);
        let output = std::fs::File::create(self.dir.join("kafka.out"))?;
        let child = Command::new(script)
            .args(["broker", &self.port.to_string()])
            .arg(&self.dir)
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while started_lines(&log) <= starts_before {
            if Instant::now() > deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "the broker did not start within {START_TIMEOUT:?}; see {}",
                        self.dir.join("kafka.out").display()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Kills the broker process (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        kill(&mut self.child);
    }
}

/// A loopback port free at the time of asking.
pub(crate) fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Kills a child process with SIGKILL, as a crash would, and reaps it.
pub(crate) fn kill(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        child.kill().ok();
        child.wait().ok();
    }
}

/// How often the broker logging to `log` has said it started.
fn started_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|text| text.matches("Kafka Server started").count())
        .unwrap_or(0)
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.kill();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
