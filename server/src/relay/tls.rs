//! Built-in TLS (`--tls-cert`, `--tls-key`): rustls with the aws-lc-rs provider. The certificate
//! chain and the key are read from PEM files at start, and again on SIGHUP ([`Tls::reload`]):
//! new handshakes use the new certificate, open connections keep theirs, and files that do not
//! load leave the current certificate in place.

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing::{error, info, warn};

/// Where the certificate chain and its private key are (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the certificate or the key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file does not read or parse.
    #[error("--tls-cert {path}: {reason}")]
    Cert {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a source: it is said once).
        reason: pem::Error,
    },
    /// The key file does not read or parse.
    #[error("--tls-key {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: pem::Error,
    },
    /// The file holds no PEM section of the kind expected.
    #[error("{flag} {path}: no {what} in PEM format found")]
    Missing {
        /// `--tls-cert` or `--tls-key`.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// "certificate" or "private key".
        what: &'static str,
    },
    /// The key is not supported, or does not match the certificate.
    #[error("--tls-cert and --tls-key do not make a TLS configuration: {0}")]
    Config(rustls::Error),
}

/// Reads the files into a server configuration (HTTP/1.1 only, as the relay speaks).
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_error = |reason| match reason {
        pem::Error::NoItemsFound => TlsError::Missing {
            flag: "--tls-cert",
            path: files.cert.clone(),
            what: "certificate",
        },
        reason => TlsError::Cert {
            path: files.cert.clone(),
            reason,
        },
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(cert_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(cert_error)?;
    if certs.is_empty() {
        return Err(cert_error(pem::Error::NoItemsFound));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|reason| match reason {
        pem::Error::NoItemsFound => TlsError::Missing {
            flag: "--tls-key",
            path: files.key.clone(),
            what: "private key",
        },
        reason => TlsError::Key {
            path: files.key.clone(),
            reason,
        },
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(TlsError::Config)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The configuration new handshakes use, replaced by [`Tls::reload`].
#[derive(Debug)]
pub struct Tls {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Loads the files (at start: an error stops the relay).
    pub fn open(files: TlsFiles) -> Result<Self, TlsError> {
        let config = load(&files)?;
        Ok(Self {
            files,
            current: RwLock::new(config),
        })
    }

    /// An acceptor with the current certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = self.current.read().unwrap_or_else(|e| e.into_inner());
        TlsAcceptor::from(config.clone())
    }

    /// Reads the files again; on an error the current certificate stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = load(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = config;
        Ok(())
    }
}

/// Reloads the certificate on each SIGHUP until `shutdown` turns `true`.
pub async fn reload_on_hangup(tls: Arc<Tls>, mut shutdown: watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => hangup,
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGHUP: the certificate will not be reloaded");
                return;
            }
        };
        loop {
            tokio::select! {
                received = hangup.recv() => if received.is_none() { return },
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            // Two small files: read on the runtime's thread.
            match tls.reload() {
                Ok(()) => info!("SIGHUP: reloaded the TLS certificate"),
                Err(e) => {
                    error!(error = %e, "SIGHUP: the TLS certificate did not reload; keeping the current one")
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (tls, shutdown.wait_for(|stop| *stop).await);
}
