//! The OpenAPI document is generated from the handlers; this snapshot keeps every change
//! to it reviewed. After an intended change, regenerate the snapshot with
//! `UPDATE_SNAPSHOTS=1 cargo test -p web-api --test openapi` and commit it.

use std::path::PathBuf;

#[test]
fn the_openapi_document_matches_its_reviewed_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    let generated = format!("{}\n", web_api::openapi::json());
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "the OpenAPI document changed (first difference at line {}: snapshot {:?}, now {:?}).\n\
             If the change is intended, run\n    \
             UPDATE_SNAPSHOTS=1 cargo test -p web-api --test openapi\n\
             and commit web-api/tests/snapshots/openapi.json.",
            first + 1,
            committed.lines().nth(first).unwrap_or("<end>"),
            generated.lines().nth(first).unwrap_or("<end>"),
        );
    }
}
