//! The OpenAPI document is part of the API contract: any change to it must be deliberate and
//! show up in review as a diff of `tests/snapshots/openapi.json`.
//!
//! After an intended change, regenerate the snapshot with
//! `UPDATE_SNAPSHOTS=1 cargo nextest run -p tradeassist-server --test openapi_snapshot`.

use std::path::PathBuf;

use tradeassist_server::api::ApiDoc;
use utoipa::OpenApi;

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

#[test]
fn openapi_document_matches_the_snapshot() {
    let mut current = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    current.push('\n');
    let path = snapshot_path();

    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("snapshot dir")).expect("create snapshot dir");
        std::fs::write(&path, &current).expect("write snapshot");
        eprintln!("updated {}", path.display());
        return;
    }

    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); create it with \
             `UPDATE_SNAPSHOTS=1 cargo nextest run -p tradeassist-server --test openapi_snapshot`",
            path.display()
        )
    });
    if stored != current {
        let first_diff = stored
            .lines()
            .zip(current.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map_or_else(
                || {
                    format!(
                        "the documents differ in length ({} vs {} lines)",
                        stored.lines().count(),
                        current.lines().count()
                    )
                },
                |(i, (a, b))| {
                    format!(
                        "first difference at line {}:\n  snapshot: {a}\n  current:  {b}",
                        i + 1
                    )
                },
            );
        panic!(
            "the OpenAPI document changed; {first_diff}\n\
             If the change is intended, update the snapshot with\n  \
             UPDATE_SNAPSHOTS=1 cargo nextest run -p tradeassist-server --test openapi_snapshot\n\
             and review the diff of {}",
            path.display()
        );
    }
}
