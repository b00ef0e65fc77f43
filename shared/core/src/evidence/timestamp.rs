//! RFC 3161 timestamps of a bundle's signature, from a timestamp authority (TSA).
//!
//! A signature's own time is whatever the signer claims; a TSA's token proves the signature
//! existed at the authority's time, so a key used after it was retired shows. The token is
//! kept as the authority's whole response (`statement.tsr`), the form `openssl ts -verify -in`
//! reads. Checking the authority's signature on it needs the authority's CA certificate, which
//! the auditor gets from the authority: that is `openssl ts -verify`'s part (VERIFY.md).
//! Passage checks that the token is granted and is over this bundle's signature.

use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// id-sha256 (2.16.840.1.101.3.4.2.1).
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

fn imprint(data: &[u8]) -> Result<MessageImprint, String> {
    Ok(MessageImprint {
        hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifier {
            oid: SHA256,
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(Sha256::digest(data).to_vec())
            .map_err(|e| e.to_string())?,
    })
}

/// A DER `TimeStampReq` for the SHA-256 of `data`, asking for the TSA's certificate in the
/// token (so `openssl ts -verify` needs only the CA) with a random nonce.
pub fn timestamp_request(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut nonce: [u8; 8] = rand::random();
    nonce[0] &= 0x7f; // a positive INTEGER
    nonce[0] |= 0x01; // with no leading zero byte
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: imprint(data)?,
        req_policy: None,
        nonce: Some(Int::new(&nonce).map_err(|e| e.to_string())?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .map_err(|e| e.to_string())
}

/// Checks that `response` is a granted time-stamp response whose token is over `data`, and
/// returns the authority's time when it can be read (whole-second `genTime`s).
pub fn check_timestamp(response: &[u8], data: &[u8]) -> Result<Option<Timestamp>, String> {
    let resp = TimeStampResp::from_der(response).map_err(|e| format!("not a TSA response: {e}"))?;
    use cmpv2::status::PkiStatus;
    if !matches!(
        resp.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        return Err(format!(
            "the authority did not grant the timestamp ({:?})",
            resp.status.status
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or("the response carries no token")?;
    let content = signed_content(&token.content.to_der().map_err(|e| e.to_string())?)
        .map_err(|e| format!("the token is not CMS signed data: {e}"))?
        .econtent
        .ok_or("the token has no content")?;
    let tst_der = content.value();
    let wanted = imprint(data)?;
    match TstInfo::from_der(tst_der) {
        Ok(info) if info.message_imprint == wanted => {
            let secs = info.gen_time.to_unix_duration().as_secs();
            Ok(Timestamp::from_second(i64::try_from(secs).map_err(|e| e.to_string())?).ok())
        }
        Ok(_) => Err("the token is over other data".into()),
        // A genTime with fractions of a second is valid RFC 3161 but not readable here; the
        // imprint is still checked, as its exact DER inside the signed content.
        Err(_) => {
            let needle = wanted.to_der().map_err(|e| e.to_string())?;
            if tst_der
                .windows(needle.len())
                .any(|w| w == needle.as_slice())
            {
                Ok(None)
            } else {
                Err("the token is over other data".into())
            }
        }
    }
}

/// The encapsulated content of a CMS `SignedData`, read without decoding its certificates and
/// signer infos: TSAs' certificate sets are not always canonical DER (a certificate listed
/// twice), which a strict decoder refuses though `openssl ts -verify` accepts it.
fn signed_content(der: &[u8]) -> der::Result<cms::signed_data::EncapsulatedContentInfo> {
    use der::Reader;
    let mut reader = der::SliceReader::new(der)?;
    reader.sequence(|r| {
        let _version: Any = r.decode()?;
        let _digest_algorithms: Any = r.decode()?;
        let content = r.decode()?;
        while !r.is_finished() {
            let _rest: Any = r.decode()?;
        }
        Ok(content)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_the_sha256_of_the_data() {
        let der = timestamp_request(b"abc").unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.message_imprint.hash_algorithm.oid, SHA256);
        assert_eq!(
            hex::encode(req.message_imprint.hashed_message.as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(req.cert_req);
        assert!(req.nonce.is_some());
    }

    #[test]
    fn garbage_is_not_a_response() {
        assert!(check_timestamp(b"not der", b"abc").is_err());
    }
}
