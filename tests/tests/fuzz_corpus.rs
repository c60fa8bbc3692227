//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the fuzz targets'
//! bodies (`typool_tests::fuzz`), on stable, as part of `cargo test --workspace`: every input
//! that once reached new code keeps being checked by the models' oracles.

use std::path::Path;

#[test]
fn every_committed_fuzz_input_still_passes_its_oracle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, target) in typool_tests::fuzz::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "the corpus of `{name}` is empty");
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let replay = std::panic::catch_unwind(|| target(&data));
            assert!(
                replay.is_ok(),
                "fuzz target `{name}` fails on {} (replay it with `cargo +nightly fuzz run -O -a {name} {}`)",
                file.display(),
                file.display()
            );
        }
    }
}
