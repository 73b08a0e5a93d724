//! The fault run of `hirestream bench faults`, short: `hirestream up` as a child process under
//! a ChargeCredits load, killed with SIGKILL and started again, then the broker killed and
//! started again; nothing acknowledged is lost or doubled and every read model recovers.

use std::time::Duration;

use api::Settings;
use hirestream_bench::faults::{faults, Fault, FaultBench};

/// How long after a restart the read models may take to apply what was committed before it.
const CATCH_UP_BOUND: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kills_of_the_process_and_of_the_broker_under_load_lose_nothing_and_the_read_models_recover(
) {
    let mut settings = Settings::load(None).expect("settings");
    settings.dev_mode = true;
    // The binary cargo built beside this test's: target/<profile>/hirestream.
    let binary = std::env::current_exe()
        .expect("test binary")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join("hirestream");
    assert!(binary.exists(), "{} is not built", binary.display());
    let bench = FaultBench {
        binary,
        clients: 8,
        wallets: 10,
        rounds: 2,
        round: Duration::from_secs(6),
        catch_up_bound: CATCH_UP_BOUND,
    };
    let report = faults(&settings, bench).await.expect("fault run");
    eprintln!("{report}");
    assert_eq!(
        report.rounds.iter().map(|r| r.fault).collect::<Vec<_>>(),
        [Fault::Process, Fault::Broker]
    );
    assert!(report.rounds.iter().all(|r| r.acknowledged > 0), "{report}");
    assert_eq!(report.problems(), Vec::<String>::new(), "{report}");
}
