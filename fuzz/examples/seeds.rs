//! Writes the checked-in seed inputs of every fuzz target to `seeds/<target>/`:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds` from the repository root.
//! Rerun it when the entry format or the item layout changes.

use std::path::Path;

fn main() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for target in ["entry_decode", "dynamodb_item", "config_parse"] {
        let dir = awsideman_fuzz::seed_dir(fuzz_dir, target);
        std::fs::create_dir_all(&dir).expect("create the seed directory");
        for (name, bytes) in awsideman_fuzz::seeds(target) {
            std::fs::write(dir.join(&name), &bytes).expect("write a seed");
            println!("{target}/{name}: {} bytes", bytes.len());
        }
    }
}
