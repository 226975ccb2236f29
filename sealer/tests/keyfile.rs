//! Key files: 0600 on write, refused when group or others can read them.

use std::os::unix::fs::PermissionsExt;

use sealer::keyfile::{read_buyer_secret, read_data_key, write_buyer_secret, write_data_key};
use sealer::{BuyerSecretKey, DataKey, Error};

#[test]
fn written_0600_read_back_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dek");
    let dek = DataKey::generate().unwrap();
    write_data_key(&p, &dek).unwrap();
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(read_data_key(&p).unwrap(), dek);
    assert!(
        matches!(write_data_key(&p, &dek), Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists)
    );

    let b = dir.path().join("buyer");
    let sk = BuyerSecretKey::generate().unwrap();
    write_buyer_secret(&b, &sk).unwrap();
    assert_eq!(read_buyer_secret(&b).unwrap().public_key(), sk.public_key());
    // Kinds are not interchangeable.
    assert!(matches!(read_data_key(&b), Err(Error::KeyFile { .. })));
    assert!(matches!(read_buyer_secret(&p), Err(Error::KeyFile { .. })));
}

#[test]
fn readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dek");
    write_data_key(&p, &DataKey::generate().unwrap()).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660, 0o606] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        let r = read_data_key(&p);
        assert!(
            matches!(r, Err(Error::InsecureKeyFile { mode: m, .. }) if m == mode),
            "{mode:o}"
        );
    }
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400)).unwrap();
    read_data_key(&p).unwrap();
}

#[test]
fn malformed_key_files_do_not_echo_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dek");
    let secretish = "datamarket-data-key-v1:zz5ecret5ecret";
    std::fs::write(&p, secretish).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    let msg = read_data_key(&p).unwrap_err().to_string();
    assert!(!msg.contains("5ecret"), "{msg}");
    assert!(msg.contains("not 64 hex digits"), "{msg}");
}

/// A key file is read from the one handle its checks ran on: a symbolic link, a FIFO
/// (which used to block the read forever), a directory and an oversized file are each
/// refused with their own reason, at once.
#[test]
fn only_a_regular_key_sized_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("dek");
    write_data_key(&real, &DataKey::generate().unwrap()).unwrap();
    let reason = |path: &std::path::Path| match read_data_key(path) {
        Err(Error::KeyFile { reason, .. }) => reason,
        other => panic!("{}: {other:?}", path.display()),
    };

    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(reason(&link), "a symbolic link: give the key file itself");

    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    assert_eq!(reason(&fifo), "not a regular file");

    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(reason(&sub), "not a regular file");

    let big = dir.path().join("big");
    let mut text = std::fs::read_to_string(&real).unwrap();
    text.push_str(&"\n".repeat(300));
    std::fs::write(&big, text).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(reason(&big), "too long for a key file");

    read_data_key(&real).unwrap();
}
