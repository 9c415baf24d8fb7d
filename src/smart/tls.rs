//! The FHIR server's TLS certificate, as the registration check reports it: who issued it, for
//! whom, and how many days it has left.

use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

/// What the check shows of a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// `notAfter`, as Unix seconds.
    pub not_after: i64,
    pub days_left: i64,
}

impl CertInfo {
    /// Reads a DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8], now: i64) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let not_after = cert.validity().not_after.timestamp();
        Some(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_after,
            days_left: (not_after - now).div_euclid(86_400),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_gives_issuer_subject_and_days_left() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["ehr.example".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ehr.example");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(20);
        let cert = params.self_signed(&key).unwrap();
        let info = CertInfo::from_der(cert.der(), now.unix_timestamp()).unwrap();
        assert!(info.subject.contains("ehr.example"), "{info:?}");
        assert_eq!(info.issuer, info.subject, "self-signed");
        assert!((19..=20).contains(&info.days_left), "{info:?}");
        assert!(CertInfo::from_der(b"not a certificate", 0).is_none());
    }
}
