//! Signed JWTs the connectors send: OAuth client assertions (`private_key_jwt`), service-account
//! grants and DPoP proofs. Built by hand over jsonwebtoken's signer because DPoP puts the public
//! key itself (a JWK) in the header.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An RSA private key, kept with its public JWK.
pub struct RsaSigner {
    key: EncodingKey,
    jwk: Value,
}

#[derive(Debug, thiserror::Error)]
#[error("the private key is not a usable RSA PEM key: {0}")]
pub struct KeyError(String);

impl RsaSigner {
    /// From a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| KeyError(e.to_string()))?;
        let jwk = json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| KeyError(e.to_string()))?;
        Ok(Self { key, jwk })
    }

    /// The public key as a JWK (`kty`, `n`, `e`).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// RFC 7638 thumbprint of the public key.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            self.jwk["e"].as_str().unwrap_or_default(),
            self.jwk["n"].as_str().unwrap_or_default()
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// Signs `claims` under `header` (whose `alg` is set to RS256) and returns the compact JWT.
    pub fn sign(&self, mut header: Value, claims: &Value) -> Result<String, KeyError> {
        header["alg"] = "RS256".into();
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string().as_bytes());
        let signing_input = format!("{}.{}", encode(&header), encode(claims));
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.key, Algorithm::RS256)
                .map_err(|e| KeyError(e.to_string()))?;
        Ok(format!("{signing_input}.{signature}"))
    }
}

/// `base64url(SHA-256(access_token))`: the DPoP `ath` claim binding a proof to its token.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// A random JWT id.
pub fn jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
