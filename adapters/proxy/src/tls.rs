//! TLS (feature `tls`, rustls with the `ring` provider): terminating it
//! for clients with a certificate that can be reloaded in place, and the
//! client configuration for `https://` upstreams.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::error::Error;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side of TLS: a certificate chain and its key, read from PEM
/// files, offered with ALPN `h2` and `http/1.1`. Cheap to clone; clones
/// share the certificate, so [`reload`](TlsConfig::reload) on one is seen
/// by every server using it.
///
/// ```no_run
/// # async fn run(proxy: webcache_proxy::Proxy<webcache_memory::MemoryStore>) -> Result<(), webcache_proxy::Error> {
/// use webcache_proxy::{Server, TlsConfig, shutdown_signal};
/// let tls = TlsConfig::from_pem_files("/etc/webcache/cert.pem", "/etc/webcache/key.pem")?;
/// let server = Server::bind("0.0.0.0:443".parse().unwrap(), proxy).await?.with_tls(tls.clone());
/// // On SIGHUP: tls.reload()?, and the next handshakes use the new files.
/// server.serve(shutdown_signal()).await
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    certificate: Arc<Reloadable>,
    acceptor: TlsAcceptor,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert", &self.certificate.cert)
            .field("key", &self.certificate.key)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads the certificate chain (PEM, leaf first) and the private key
    /// (PEM: PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Result<Self, Error> {
        let (cert, key) = (cert.into(), key.into());
        let current = load(&cert, &key)?;
        let certificate = Arc::new(Reloadable {
            cert,
            key,
            current: RwLock::new(Arc::new(current)),
        });
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(certificate.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsConfig {
            certificate,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Reads the files again; the handshakes that follow use the new
    /// certificate. On an error the old one stays in use.
    pub fn reload(&self) -> Result<(), Error> {
        let fresh = load(&self.certificate.cert, &self.certificate.key)?;
        let mut current = self
            .certificate
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *current = Arc::new(fresh);
        Ok(())
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// The certificate in use, replaced by [`TlsConfig::reload`].
struct Reloadable {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for Reloadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloadable")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, Error> {
    let fail = |path: &Path, e: &dyn fmt::Display| Error::Tls(format!("{}: {e}", path.display()));
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| fail(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(cert, &e))?;
    if chain.is_empty() {
        return Err(fail(cert, &"no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| fail(key, &e))?;
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| fail(key, &e))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| fail(key, &format!("does not match the certificate: {e}")))?;
    Ok(certified)
}

/// A client configuration with no roots, for an `http://` upstream.
pub(crate) fn unused_client_config() -> Result<Arc<ClientConfig>, Error> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The client configuration for `https://` upstreams: the roots of
/// `ca_file` (PEM) when given, else the system's.
pub(crate) fn upstream_client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::Tls(format!(
                    "{}: no usable CA certificate",
                    path.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(Error::Tls(
                    "no system root certificates found: give a CA file".to_owned(),
                ));
            }
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
