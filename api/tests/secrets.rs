//! The `hirestream` binary refuses to serve with the public development secrets.

use std::process::Command;

/// `hirestream <subcommand>` with no settings but `extra`, as on an unconfigured machine.
fn hirestream(subcommand: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hirestream"));
    command.arg(subcommand);
    for (name, _) in std::env::vars() {
        if name.starts_with("HIRESTREAM_") || name == "QDRANT_URL" {
            command.env_remove(name);
        }
    }
    // Nothing listens here, so a server that got past the check fails to connect instead.
    command.env(
        "HIRESTREAM_DATABASE__URL",
        "postgres://nobody@127.0.0.1:1/nothing",
    );
    command.envs(extra.iter().copied());
    command.output().expect("run hirestream")
}

#[test]
fn a_server_without_secrets_or_development_mode_exits_with_a_clear_message() {
    for subcommand in ["serve", "up"] {
        let output = hirestream(subcommand, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{subcommand}: {stderr}");
        assert!(
            stderr.contains("public development secret")
                && stderr.contains("HIRESTREAM_AUTH__JWT_SECRET")
                && stderr.contains("HIRESTREAM_PAYMENTS__WEBHOOK_SECRET")
                && stderr.contains("HIRESTREAM_PRIVACY__MASTER_KEY")
                && stderr.contains("HIRESTREAM_DEV_MODE=true"),
            "{subcommand}: {stderr}"
        );
    }
}

#[test]
fn the_check_passes_with_secrets_of_our_own_or_in_development_mode() {
    let own = [
        ("HIRESTREAM_AUTH__JWT_SECRET", "a-secret-of-our-own"),
        ("HIRESTREAM_PAYMENTS__WEBHOOK_SECRET", "whsec_of_our_own"),
        (
            "HIRESTREAM_PRIVACY__MASTER_KEY",
            "b3VyLW93bi1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzISE=",
        ),
        ("HIRESTREAM_DATABASE__MAX_CONNECTIONS", "1"),
    ];
    for extra in [&own[..], &[("HIRESTREAM_DEV_MODE", "true")][..]] {
        let output = hirestream("serve", extra);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // It gets as far as the database, which is not there.
        assert!(!output.status.success(), "{stderr}");
        assert!(!stderr.contains("refusing to serve"), "{stderr}");
        assert!(stderr.contains("PostgreSQL"), "{stderr}");
    }
}
