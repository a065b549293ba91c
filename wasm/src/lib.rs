//! Thin wasm-bindgen binding of `fieldbook-core` for the browser (filled by the web app issue).

use wasm_bindgen::prelude::wasm_bindgen;

/// The version of the Fieldbook core compiled into this module.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    fieldbook_core::VERSION.to_owned()
}
