//! The OPFS storage backend in a real browser worker: the `Storage`
//! contract on a `FileSystemSyncAccessHandle`, and the engine recovering its
//! data from OPFS files after being dropped and reopened.
//!
//! wasm32 only (empty on the host). Run by `npm test` as
//! `cargo test --target wasm32-unknown-unknown --no-default-features
//! --test wasm_opfs` (no default features: no native binaries), with
//! wasm-bindgen-test-runner (`.cargo/config.toml`) driving Chromium through
//! `CHROMEDRIVER=/usr/bin/chromedriver`.
#![cfg(target_arch = "wasm32")]

use neuraldb::engine::{Engine, EngineConfig};
use neuraldb::storage::Storage;
use neuraldb::value::Value;
use neuraldb::wasm::OpfsStorage;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemGetFileOptions,
    FileSystemSyncAccessHandle, WorkerGlobalScope,
};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

async fn root() -> FileSystemDirectoryHandle {
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    JsFuture::from(global.navigator().storage().get_directory())
        .await
        .expect("OPFS root")
        .unchecked_into()
}

async fn remove(name: &str) {
    // Absent files are fine: every test starts from scratch.
    let _ = JsFuture::from(root().await.remove_entry(name)).await;
}

async fn open(name: &str) -> FileSystemSyncAccessHandle {
    let opts = FileSystemGetFileOptions::new();
    opts.set_create(true);
    let file: FileSystemFileHandle =
        JsFuture::from(root().await.get_file_handle_with_options(name, &opts))
            .await
            .expect("file handle")
            .unchecked_into();
    JsFuture::from(file.create_sync_access_handle())
        .await
        .expect("sync access handle")
        .unchecked_into()
}

#[wasm_bindgen_test]
async fn storage_contract_on_opfs() {
    remove("contract.bin").await;
    let mut s = OpfsStorage::new(open("contract.bin").await);
    assert_eq!(s.len().unwrap(), 0);
    let mut buf = [0xFFu8; 4];
    assert_eq!(s.read_at(0, &mut buf).unwrap(), 0, "reading an empty file");

    // Writing past the end zero-fills the gap.
    s.write_at(10, &[1, 2, 3]).unwrap();
    assert_eq!(s.len().unwrap(), 13);
    let mut all = [0xFFu8; 13];
    assert_eq!(s.read_at(0, &mut all).unwrap(), 13);
    assert_eq!(all, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);

    // Short read at the end, nothing past it.
    assert_eq!(s.read_at(12, &mut buf).unwrap(), 1);
    assert_eq!(buf[0], 3);
    assert_eq!(s.read_at(13, &mut buf).unwrap(), 0);

    // Overwrite in place, truncate, extend with zeros.
    s.write_at(11, &[9]).unwrap();
    s.set_len(12).unwrap();
    assert_eq!(s.len().unwrap(), 12);
    s.set_len(16).unwrap();
    let mut tail = [0xFFu8; 6];
    assert_eq!(s.read_at(10, &mut tail).unwrap(), 6);
    assert_eq!(tail, [1, 9, 0, 0, 0, 0]);
    s.sync().unwrap();
    drop(s); // closes the handle, so the file can be opened again

    let s = OpfsStorage::new(open("contract.bin").await);
    assert_eq!(s.len().unwrap(), 16, "synced length survives reopening");
}

#[wasm_bindgen_test]
async fn engine_on_opfs_recovers_after_reopen() {
    remove("engine.ndb").await;
    remove("engine.ndb-wal").await;
    let open_engine = || async {
        Engine::open(
            Box::new(OpfsStorage::new(open("engine.ndb").await)),
            Box::new(OpfsStorage::new(open("engine.ndb-wal").await)),
            EngineConfig::default(),
        )
        .expect("open on OPFS")
    };
    let mut db = open_engine().await;
    let s = db.connect();
    db.execute(s, "CREATE TABLE t (id int PRIMARY KEY, v text)", vec![])
        .unwrap();
    db.execute(
        s,
        "INSERT INTO t SELECT g, repeat('x', 500) FROM generate_series(1, 2000) g",
        vec![],
    )
    .unwrap();
    db.execute(s, "BEGIN; DELETE FROM t WHERE id > 1000", vec![])
        .unwrap();
    // Dropped with the DELETE uncommitted: as if the tab went away.
    drop(db);

    let mut db = open_engine().await;
    let s = db.connect();
    let r = db
        .execute(s, "SELECT count(*), max(id) FROM t", vec![])
        .unwrap();
    assert_eq!(
        r[0].rows[0].to_vec(),
        vec![Value::Int8(2000), Value::Int4(2000)]
    );
}

/// The SIMD128 index kernels agree with the SQL functions' scalar loops
/// (and with the stored-bytes path) for every metric and odd lengths.
#[wasm_bindgen_test]
fn simd_kernels_agree_with_sql_functions() {
    use neuraldb::value::vector::{self, ElementFormat, Metric};
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    for n in [1usize, 3, 8, 13, 64, 67, 384] {
        let a: Vec<f32> = (0..n).map(|_| next()).collect();
        let b: Vec<f32> = (0..n).map(|_| next()).collect();
        let mut bytes = Vec::new();
        ElementFormat::F32.encode(&b, &mut bytes);
        let close = |x: f32, y: f64| (f64::from(x) - y).abs() <= 1e-4 * (1.0 + y.abs());
        let l2 = vector::l2_distance(&a, &b).expect("same dims");
        let ip = vector::inner_product(&a, &b).expect("same dims");
        let cos = vector::cosine_distance(&a, &b).expect("same dims");
        let l1 = vector::l1_distance(&a, &b).expect("same dims");
        for (metric, want) in [
            (Metric::L2, l2 * l2),
            (Metric::InnerProduct, -ip),
            (Metric::Cosine, cos),
            (Metric::L1, l1),
        ] {
            let d = metric.distance(&a, &b);
            let s = metric.distance_to_stored(ElementFormat::F32, &a, &bytes);
            assert!(close(d, want), "{metric:?} n={n}: {d} vs {want}");
            assert!(close(s, want), "{metric:?} n={n} stored: {s} vs {want}");
        }
    }
}
