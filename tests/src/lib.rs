//! End-to-end test support: simulated devices against a real relay on 127.0.0.1 (filled by the
//! documents-and-sync and relay issues). The `fieldbook eval` end-to-end test lives in
//! `server/tests/` beside the binary it runs.
