use std::os::unix::fs::PermissionsExt as _;

use super::*;

fn script(dir: &Path, body: &str) -> PathBuf {
    let binary = dir.join("child");
    std::fs::write(&binary, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    binary
}

/// A copy of sleep: a real binary, so that /proc names it as the child's program.
fn sleeper(dir: &Path) -> PathBuf {
    let binary = dir.join("sleeper");
    std::fs::copy("/bin/sleep", &binary).unwrap();
    binary
}

fn spec(dir: &Path, binary: PathBuf, args: &[&str]) -> ChildSpec {
    ChildSpec {
        name: "child",
        binary,
        args: args.iter().map(OsString::from).collect(),
        env: Vec::new(),
        pid_file: dir.join("run").join("child.pid"),
        stop_grace: Duration::from_secs(5),
        output: Output::Pipe,
        adopt: false,
    }
}

fn starts(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("starts")).map_or(0, |s| s.lines().count())
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A child that notes each start and exits at once; a start that fails because the binary is
/// gone is tried again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restart_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "echo run >> {}\nexit 1",
        dir.path().join("starts").display()
    );
    let binary = script(dir.path(), &body);
    let child = Supervisor::start(spec(dir.path(), binary.clone(), &[]))
        .await
        .unwrap();
    // The first run exits at once; the restart 1 s later finds no binary.
    wait_for("the first run", || starts(dir.path()) >= 1).await;
    std::fs::remove_file(&binary).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        starts(dir.path()),
        1,
        "nothing to run while the binary is gone"
    );
    script(dir.path(), &body);
    let deadline = Instant::now() + Duration::from_secs(10);
    while starts(dir.path()) < 2 {
        assert!(
            Instant::now() < deadline,
            "the supervisor gave up after a failed start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.stop().await;
}

/// The pid file names the running child, follows it through a restart after SIGKILL, and is
/// gone once the child is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pid_file_follows_the_child_through_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), sleeper(dir.path()), &["600.1"]);
    let child = Supervisor::start(spec.clone()).await.unwrap();
    let first = child.pid().unwrap();
    let recorded = || std::fs::read_to_string(&spec.pid_file).unwrap_or_default();
    assert_eq!(recorded().trim(), first.to_string());
    let pid = nix::unistd::Pid::from_raw(i32::try_from(first).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    wait_for("a restart", || child.pid().is_some_and(|p| p != first)).await;
    let second = child.pid().unwrap();
    wait_for("the new pid file", || {
        recorded().trim() == second.to_string()
    })
    .await;
    child.stop().await;
    assert!(!spec.pid_file.exists(), "the pid file outlived the child");
    assert!(!alive(i32::try_from(second).unwrap()));
}

/// A copy of the child that an earlier (killed) k0rs left running is ended before the new one
/// starts, whether or not its pid file survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_child_is_ended_before_a_new_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let binary = sleeper(dir.path());
    let spec = spec(dir.path(), binary.clone(), &["600.2"]);
    std::fs::create_dir_all(spec.pid_file.parent().unwrap()).unwrap();
    // Two leftovers, one recorded in the pid file, as after k0rs was killed twice.
    let mut leftovers: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&binary)
                .arg("600.2")
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&spec.pid_file, format!("{}\n", leftovers[0].id())).unwrap();
    // Another node's child: same binary, other arguments.
    let mut other = std::process::Command::new(&binary)
        .arg("600.3")
        .spawn()
        .unwrap();
    // spawn returns while the kernel may still be setting up a program's arguments.
    wait_for("the leftovers to be recognised", || {
        spec.identity().find_all(None).len() == 2
    })
    .await;
    let child = Supervisor::start(spec.clone()).await.unwrap();
    for leftover in &mut leftovers {
        assert!(
            leftover.try_wait().unwrap().is_some(),
            "a stale child still runs"
        );
    }
    assert!(
        other.try_wait().unwrap().is_none(),
        "another node's child was ended"
    );
    let own = vec![i32::try_from(child.pid().unwrap()).unwrap()];
    wait_for("the new child to be recognised", || {
        spec.identity().find_all(None) == own
    })
    .await;
    child.stop().await;
    other.kill().unwrap();
    other.wait().unwrap();
}

/// A child with `adopt` that an earlier k0rs left running is kept (same pid) and supervised:
/// restarted once it dies, stopped on shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adoptable_child_is_kept_and_supervised() {
    let dir = tempfile::tempdir().unwrap();
    let binary = sleeper(dir.path());
    let mut spec = spec(dir.path(), binary.clone(), &["600.4"]);
    spec.adopt = true;
    std::fs::create_dir_all(spec.pid_file.parent().unwrap()).unwrap();
    let mut leftover = std::process::Command::new(&binary)
        .arg("600.4")
        .spawn()
        .unwrap();
    let left = i32::try_from(leftover.id()).unwrap();
    wait_for("the leftover to be recognised", || {
        spec.identity().find_all(None) == vec![left]
    })
    .await;
    let child = Supervisor::start(spec.clone()).await.unwrap();
    assert_eq!(
        child.pid(),
        Some(leftover.id()),
        "the leftover was not adopted"
    );
    assert_eq!(
        std::fs::read_to_string(&spec.pid_file).unwrap().trim(),
        left.to_string()
    );
    // It dies (reaped by us, its real parent): the supervisor starts its own.
    leftover.kill().unwrap();
    leftover.wait().unwrap();
    wait_for("a restart", || {
        child.pid().is_some_and(|p| p != leftover.id())
    })
    .await;
    let own = i32::try_from(child.pid().unwrap()).unwrap();
    child.stop().await;
    assert!(!alive(own), "the restarted child outlived stop");
    assert!(!spec.pid_file.exists());
}

/// With `Output::File` the child writes to the file (so it keeps its output when k0rs dies),
/// which each new child starts empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_output_holds_the_current_childs_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("child.log");
    std::fs::write(&log, "from an earlier child\n").unwrap();
    let binary = script(
        dir.path(),
        "echo out-line; echo err-line >&2; exec sleep 600",
    );
    let mut spec = spec(dir.path(), binary, &[]);
    spec.output = Output::File(log.clone());
    let child = Supervisor::start(spec).await.unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("both lines in the file", || {
        read().contains("out-line") && read().contains("err-line")
    })
    .await;
    assert!(!read().contains("earlier"), "the file was not emptied");
    child.stop().await;
}
