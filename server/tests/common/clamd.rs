//! A real clamd for the scanning tests: Debian's `clamav-daemon` (installed
//! by `scripts/test`), with a signature database of its own that knows only
//! the EICAR test file, so no download of the official signatures is needed.
//! One daemon per test binary, started on first use and stopped when the
//! binary exits.

use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// The industry's harmless test "virus".
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The signature name the test database gives it (clamd adds `.UNOFFICIAL`).
pub const EICAR_SIGNATURE: &str = "Switchboard.Test.EICAR";

/// `host:port` of this binary's clamd.
pub fn addr() -> &'static str {
    static DAEMON: OnceLock<(String, Child)> = OnceLock::new();
    &DAEMON.get_or_init(start).0
}

fn start() -> (String, Child) {
    let binary = std::env::var("CLAMD").unwrap_or_else(|_| "/usr/sbin/clamd".to_owned());
    assert!(
        std::path::Path::new(&binary).exists(),
        "clamd is missing at {binary}: run scripts/test once (it installs clamav-daemon), or point CLAMD at it"
    );
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let dir = format!("{}/clamd-{}", env!("CARGO_TARGET_TMPDIR"), std::process::id());
    std::fs::create_dir_all(format!("{dir}/db")).expect("clamd directory");
    let md5 = "44d88612fea8a8f36de82e1278abb02f"; // of EICAR, 68 bytes
    std::fs::write(format!("{dir}/db/switchboard-test.hdb"), format!("{md5}:68:{EICAR_SIGNATURE}\n"))
        .expect("signatures");
    std::fs::write(
        format!("{dir}/clamd.conf"),
        format!(
            "Foreground yes\nDatabaseDirectory {dir}/db\nTCPSocket {port}\nTCPAddr 127.0.0.1\n\
             LogFile {dir}/clamd.log\nPidFile {dir}/clamd.pid\n"
        ),
    )
    .expect("clamd.conf");
    // The shell stops clamd when this process's end of its stdin closes.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "\"{binary}\" -c \"{dir}/clamd.conf\" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start clamd");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("clamd exited ({status}) before it listened; see {dir}/clamd.log");
        }
        assert!(Instant::now() < deadline, "clamd did not listen on {port} within 60 s; see {dir}/clamd.log");
        std::thread::sleep(Duration::from_millis(100));
    }
    (format!("127.0.0.1:{port}"), child)
}
