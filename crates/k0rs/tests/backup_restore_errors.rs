//! `k0rs backup` and `k0rs restore` on bad input: a clear error naming what is wrong, exit code 1,
//! and nothing written — no archive (not even a partial one), no data directory, no config file,
//! no staging leftovers. Also the backup of a stopped controller, read from its files.

mod harness;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::{Node, k0rs, path_str, stderr, tool};

fn backup(node: &Node, save: &Path, config: &Path) -> Output {
    node.k0rs(&[
        "backup",
        "--save-path",
        path_str(save),
        "--config",
        path_str(config),
    ])
    .output()
    .unwrap()
}

/// The files in `dir`, hidden ones included.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn refused(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(
        stderr(out).contains(needle),
        "expected {needle:?} in: {}",
        stderr(out)
    );
}

/// `k0rs restore` of `archive` into `<root>/<name>` with its own run dir, the config to
/// `<root>/<name>.yaml`.
fn restore(root: &Path, name: &str, archive: &Path) -> Output {
    let data = root.join(name);
    k0rs(&[
        "--data-dir",
        path_str(&data),
        "--run-dir",
        path_str(&root.join(format!("{name}-run"))),
        "restore",
        path_str(archive),
        "--config-out",
        path_str(&root.join(format!("{name}.yaml"))),
    ])
    .output()
    .unwrap()
}

#[test]
fn damaged_or_foreign_archives_are_refused_naming_them_and_nothing_is_written() {
    let controller = Controller::start();
    kubectl_ok(&controller.admin(), &["create", "namespace", "kept"]);
    let save = controller.node.root.path().join("save");
    std::fs::create_dir(&save).unwrap();
    let out = backup(&controller.node, &save, &controller.config);
    assert!(out.status.success(), "{}", stderr(&out));
    let good = files_in(&save).pop().unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let bad = tempfile::tempdir().unwrap();
    let root = bad.path();
    let cases = bad_archives(root, &bytes);
    for (n, (archive, reason)) in cases.iter().enumerate() {
        let name = format!("restored-{n}");
        let out = restore(root, &name, archive);
        refused(&out, reason);
        assert!(stderr(&out).contains(path_str(archive)), "{}", stderr(&out));
        assert!(
            !root.join(&name).exists(),
            "{name}: a data directory was written"
        );
        assert!(
            !root.join(format!("{name}.yaml")).exists(),
            "{name}: a config was written"
        );
        let leftovers: Vec<_> = files_in(root)
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    // The good archive restores; not twice into the same directory.
    let out = restore(root, "good", &good);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(root.join("good/pki/ca.crt").exists());
    let again = restore(root, "good", &good);
    refused(&again, "is not empty");

    // Not over a running node.
    let out = k0rs(&[
        "--data-dir",
        path_str(&root.join("fresh")),
        "--run-dir",
        path_str(&controller.node.run_dir()),
        "restore",
        path_str(&good),
    ])
    .output()
    .unwrap();
    refused(&out, "k0rs seems to be running");
    assert!(!root.join("fresh").exists());
}

/// Archives restore must refuse, with the reason it gives: cut short, not gzip, foreign, k0s's.
fn bad_archives(root: &Path, good: &[u8]) -> Vec<(PathBuf, &'static str)> {
    let write = |name: &str, data: &[u8]| {
        let path = root.join(name);
        std::fs::write(&path, data).unwrap();
        path
    };
    let tar = |name: &str, dir: &Path, entries: &[&str]| {
        let path = root.join(name);
        let args = [&["czf", path_str(&path), "-C", path_str(dir)], entries].concat();
        assert!(tool("tar", &args).status.success());
        path
    };
    let foreign = root.join("foreign");
    std::fs::create_dir_all(foreign.join("pki")).unwrap();
    std::fs::write(foreign.join("hello.txt"), "hello").unwrap();
    std::fs::write(foreign.join("pki/ca.crt"), "x").unwrap();
    std::fs::write(foreign.join("kine-state-backup.db"), "SQLite format 3\0").unwrap();
    vec![
        (
            write("half.tar.gz", &good[..good.len() / 2]),
            "damaged or cut short",
        ),
        (
            write("short.tar.gz", &good[..good.len() - 3]),
            "damaged or cut short",
        ),
        (
            write("text.tar.gz", b"just some text\n"),
            "damaged or cut short",
        ),
        (
            tar("foreign.tar.gz", &foreign, &["hello.txt"]),
            "not part of a k0rs backup",
        ),
        (
            // k0s's archive of a kine/SQLite cluster.
            tar(
                "k0s_backup_2024-01-01T00_00_00_000Z.tar.gz",
                &foreign,
                &["pki", "kine-state-backup.db"],
            ),
            "k0s backup with a kine/SQLite database",
        ),
        (
            tar("no-store.tar.gz", &foreign, &["pki"]),
            "holds no store snapshot",
        ),
    ]
}

#[test]
fn backup_refuses_bad_save_paths_and_data_dirs_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let save = tmp.path().join("save");
    std::fs::create_dir(&save).unwrap();
    let config = tmp.path().join("k0s.yaml");
    std::fs::write(&config, "spec: {}\n").unwrap();
    let run = |data: &Path, save: &Path| {
        k0rs(&[
            "--data-dir",
            path_str(data),
            "--run-dir",
            path_str(&tmp.path().join("run")),
            "backup",
            "--save-path",
            path_str(save),
            "--config",
            path_str(&config),
        ])
        .output()
        .unwrap()
    };
    // A data directory that is not k0rs's.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    refused(
        &run(&other, &save),
        "is not the data directory of a k0rs controller",
    );
    refused(
        &run(&tmp.path().join("missing"), &save),
        "cannot find data-dir",
    );
    // A CA but no store: not a controller's data directory either.
    std::fs::create_dir_all(other.join("pki")).unwrap();
    std::fs::write(other.join("pki/ca.crt"), "x").unwrap();
    refused(&run(&other, &save), "store.wal does not exist");
    assert!(files_in(&save).is_empty(), "{:?}", files_in(&save));

    // Save paths that cannot take the archive.
    let controller = Controller::start();
    let data = controller.node.data_dir();
    refused(&run(&data, &tmp.path().join("nowhere")), "does not exist");
    refused(&run(&data, &config), "does not exist");
    refused(
        &run(&data, Path::new("/proc")),
        "cannot write to the save-path directory /proc",
    );
    assert!(files_in(&save).is_empty());
}

#[test]
fn a_stopped_controller_is_backed_up_from_its_files_and_restored() {
    let mut controller = Controller::start();
    kubectl_ok(&controller.admin(), &["create", "namespace", "offline"]);
    let uid = kubectl_ok(
        &controller.admin(),
        &[
            "get",
            "namespace",
            "offline",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
    );
    controller.stop();
    let save = controller.node.root.path().join("save");
    std::fs::create_dir(&save).unwrap();
    let out = backup(&controller.node, &save, &controller.config);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no controller running"),
        "{}",
        stderr(&out)
    );
    let archive = files_in(&save).pop().unwrap();

    let target = tempfile::tempdir().unwrap();
    let data = target.path().join("data");
    let config = target.path().join("k0s.yaml");
    let out = k0rs(&[
        "--data-dir",
        path_str(&data),
        "restore",
        path_str(&archive),
        "--config-out",
        path_str(&config),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut child = start(&data, &target.path().join("run"), &config);
    let admin = data.join("pki/admin.conf");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kubectl(&admin, &["get", "namespace", "offline"])
        .status
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "the restored controller does not serve"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let restored = kubectl_ok(
        &admin,
        &[
            "get",
            "namespace",
            "offline",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(restored, uid);
}

fn start(data: &Path, run: &Path, config: &Path) -> Child {
    k0rs(&[
        "--data-dir",
        path_str(data),
        "--run-dir",
        path_str(run),
        "controller",
        "--config",
        path_str(config),
        "--disable-components=kube-controller-manager,kube-scheduler",
    ])
    .stderr(Stdio::null())
    .spawn()
    .unwrap()
}
