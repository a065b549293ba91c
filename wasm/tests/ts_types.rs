//! The TypeScript declarations of the data types (`src/types.d.ts`, included in the generated
//! `fieldbook_wasm.d.ts`) are exactly what ts-rs generates from the core's serde types today.
//! After changing a type: `UPDATE_EXPECT=1 cargo test -p fieldbook-wasm --test ts_types`.

#![cfg(not(target_arch = "wasm32"))]

#[test]
fn types_d_ts_is_generated_from_the_core() {
    expect_test::expect_file!["../src/types.d.ts"].assert_eq(&fieldbook_core::ts::declarations());
}
