//! `test-cert DIR`: writes a self-signed certificate for 127.0.0.1 and localhost to
//! `DIR/tls.cert.pem` and its key to `DIR/tls.key.pem` ([`fieldbook_tests::TestCert`]), for
//! the browser tests' TLS relay (web-demo/tests/e2e/global-setup.ts).

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: test-cert DIR");
        std::process::exit(2);
    };
    fieldbook_tests::TestCert::generate(std::path::Path::new(&dir), "tls");
}
