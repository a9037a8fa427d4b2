//! TLS credentials: a certificate and its private key in PEM, checked the way a person needs
//! before a workload fails on them: both readable, and the key the certificate's. Pure (a small DER
//! reader, no crypto), so the browser checks as the server does. RSA and EC keys are matched by
//! their public parts; messages never quote either.

use super::base64;
use super::credential::FieldError;

const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// A public key as a certificate states it, or as a private key carries it.
#[derive(Debug, PartialEq, Eq)]
enum PublicKey {
    Rsa { modulus: Vec<u8>, exponent: Vec<u8> },
    Ec { point: Vec<u8> },
}

/// Reads DER's tag-length-value elements in sequence.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (length, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            (rest[..count].iter().fold(0usize, |n, &b| (n << 8) | usize::from(b)), &rest[count..])
        };
        if rest.len() < length {
            return None;
        }
        self.0 = &rest[length..];
        Some((tag, &rest[..length]))
    }

    /// The next element, which must have `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.next().filter(|(t, _)| *t == tag).map(|(_, content)| content)
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

fn unsigned(integer: &[u8]) -> Vec<u8> {
    integer.iter().skip_while(|&&b| b == 0).copied().collect()
}

/// The blocks of one PEM label in `text`, decoded.
fn pem_blocks(text: &str, label: &str) -> Vec<Option<Vec<u8>>> {
    let (begin, end) = (format!("-----BEGIN {label}-----"), format!("-----END {label}-----"));
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let Some(stop) = body.find(&end) else {
            blocks.push(None);
            break;
        };
        blocks.push(base64::decode(&body[..stop]));
        rest = &body[stop + end.len()..];
    }
    blocks
}

/// An RSA public key from PKCS#1's `RSAPublicKey` or `RSAPrivateKey` (which starts with a version).
fn rsa_key(der: &[u8], private: bool) -> Option<PublicKey> {
    let mut fields = Der(Der(der).expect(SEQUENCE)?);
    if private {
        fields.expect(INTEGER)?;
    }
    Some(PublicKey::Rsa { modulus: unsigned(fields.expect(INTEGER)?), exponent: unsigned(fields.expect(INTEGER)?) })
}

/// The public point of SEC1's `ECPrivateKey`, when it carries one (OpenSSL's keys do).
fn ec_key(der: &[u8]) -> Result<PublicKey, &'static str> {
    let unreadable = "The private key is not a readable EC key";
    let mut fields = Der(Der(der).expect(SEQUENCE).ok_or(unreadable)?);
    fields.expect(INTEGER).ok_or(unreadable)?;
    fields.expect(OCTET_STRING).ok_or(unreadable)?;
    while let Some((tag, content)) = fields.next() {
        if tag == 0xa1 {
            let point = Der(content).expect(BIT_STRING).ok_or(unreadable)?;
            return Ok(PublicKey::Ec { point: point.get(1..).unwrap_or_default().to_vec() });
        }
    }
    Err("The EC private key does not carry its public key, so it cannot be matched to the certificate")
}

/// The public key a certificate states (its SubjectPublicKeyInfo).
fn certificate_key(der: &[u8]) -> Option<Result<PublicKey, &'static str>> {
    let mut certificate = Der(Der(der).expect(SEQUENCE)?);
    let mut tbs = Der(certificate.expect(SEQUENCE)?);
    if tbs.next()?.0 == 0xa0 {
        tbs.next()?; // the serial number, after the version
    }
    for _ in 0..4 {
        tbs.next()?; // signature algorithm, issuer, validity, subject
    }
    let mut info = Der(tbs.expect(SEQUENCE)?);
    let algorithm = Der(info.expect(SEQUENCE)?).expect(OID)?;
    let key = info.expect(BIT_STRING)?.get(1..)?;
    Some(match algorithm {
        RSA => rsa_key(key, false).ok_or("The certificate's RSA key is not readable"),
        EC => Ok(PublicKey::Ec { point: key.to_vec() }),
        _ => Err("Only certificates with RSA or EC keys can be checked"),
    })
}

/// The public part of a private key in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) form.
fn private_key(text: &str) -> Result<PublicKey, &'static str> {
    let unreadable = "The private key is not valid PEM";
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err("The private key is encrypted; give it without a passphrase");
    }
    let first = |label| pem_blocks(text, label).into_iter().next();
    if let Some(der) = first("RSA PRIVATE KEY") {
        return der.and_then(|d| rsa_key(&d, true)).ok_or(unreadable);
    }
    if let Some(der) = first("EC PRIVATE KEY") {
        return ec_key(&der.ok_or(unreadable)?);
    }
    let der = first("PRIVATE KEY").ok_or("Paste the private key in PEM form (-----BEGIN PRIVATE KEY-----)")?.ok_or(unreadable)?;
    let mut fields = Der(Der(&der).expect(SEQUENCE).ok_or(unreadable)?);
    fields.expect(INTEGER).ok_or(unreadable)?;
    let algorithm = Der(fields.expect(SEQUENCE).ok_or(unreadable)?).expect(OID).ok_or(unreadable)?;
    let inner = fields.expect(OCTET_STRING).ok_or(unreadable)?;
    match algorithm {
        RSA => rsa_key(inner, true).ok_or(unreadable),
        EC => ec_key(inner),
        _ => Err("Only RSA and EC keys can be checked"),
    }
}

/// The public key a PEM certificate (the first of a chain) states.
fn read_certificate(text: &str) -> Result<PublicKey, &'static str> {
    if text.trim().is_empty() {
        return Err("Enter the certificate");
    }
    let blocks = pem_blocks(text, "CERTIFICATE");
    let first = blocks.first().ok_or("Paste the certificate in PEM form (-----BEGIN CERTIFICATE-----)")?;
    if blocks.iter().any(Option::is_none) {
        return Err("The certificate is not valid PEM");
    }
    certificate_key(first.as_deref().unwrap_or_default()).ok_or("The certificate is not a readable X.509 certificate")?
}

/// Every rule a certificate and key break, naming the field (`certificate`, `privateKey`).
pub fn tls_problems(certificate: &str, key: &str) -> Vec<FieldError> {
    let stated = read_certificate(certificate).map_err(|m| FieldError::new("certificate", m));
    let held = if key.trim().is_empty() { Err("Enter the private key") } else { private_key(key) }.map_err(|m| FieldError::new("privateKey", m));
    match (stated, held) {
        (Ok(stated), Ok(held)) if stated != held => vec![FieldError::new("privateKey", "The private key does not match the certificate")],
        (stated, held) => [stated.err(), held.err()].into_iter().flatten().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with openssl for these tests (see tests/fixtures/tls/README.md).
    const EC_CERT: &str = include_str!("../../tests/fixtures/tls/ec.crt");
    const EC_KEY: &str = include_str!("../../tests/fixtures/tls/ec.key");
    const EC_KEY_PKCS8: &str = include_str!("../../tests/fixtures/tls/ec-pkcs8.key");
    const EC_KEY_WITHOUT_PUBLIC: &str = include_str!("../../tests/fixtures/tls/ec-nopub.key");
    const OTHER_EC_KEY: &str = include_str!("../../tests/fixtures/tls/other-ec.key");
    const RSA_CERT: &str = include_str!("../../tests/fixtures/tls/rsa.crt");
    const RSA_KEY: &str = include_str!("../../tests/fixtures/tls/rsa.key");
    const RSA_KEY_PKCS1: &str = include_str!("../../tests/fixtures/tls/rsa-pkcs1.key");

    fn fields(certificate: &str, key: &str) -> Vec<(String, String)> {
        tls_problems(certificate, key).into_iter().map(|p| (p.field, p.message)).collect()
    }

    #[test]
    fn a_key_that_belongs_to_its_certificate_passes_in_every_form() {
        for (certificate, key) in [(EC_CERT, EC_KEY), (EC_CERT, EC_KEY_PKCS8), (RSA_CERT, RSA_KEY), (RSA_CERT, RSA_KEY_PKCS1)] {
            assert_eq!(fields(certificate, key), [], "{key}");
        }
        // A chain: the first certificate is the one the key belongs to.
        assert_eq!(fields(&format!("{EC_CERT}{RSA_CERT}"), EC_KEY), []);
    }

    #[test]
    fn another_key_is_refused() {
        let mismatch = vec![("privateKey".to_string(), "The private key does not match the certificate".to_string())];
        assert_eq!(fields(EC_CERT, OTHER_EC_KEY), mismatch);
        assert_eq!(fields(EC_CERT, RSA_KEY), mismatch);
        assert_eq!(fields(RSA_CERT, EC_KEY), mismatch);
    }

    #[test]
    fn what_is_not_pem_is_named_per_field() {
        assert_eq!(fields("", ""), [("certificate".into(), "Enter the certificate".into()), ("privateKey".into(), "Enter the private key".into())]);
        assert_eq!(fields("hello", EC_KEY)[0].1, "Paste the certificate in PEM form (-----BEGIN CERTIFICATE-----)");
        let broken = EC_CERT.replace("-----END CERTIFICATE-----", "");
        assert_eq!(fields(&broken, EC_KEY)[0].1, "The certificate is not valid PEM");
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(fields(garbled, EC_KEY)[0].1, "The certificate is not a readable X.509 certificate");
        assert_eq!(fields(EC_CERT, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----")[0].1, "The private key is encrypted; give it without a passphrase");
        assert!(fields(EC_CERT, EC_KEY_WITHOUT_PUBLIC)[0].1.contains("does not carry its public key"));
    }
}
