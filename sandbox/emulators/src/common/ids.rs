//! Identifier generation. Providers mint ids with recognisable shapes (Okta:
//! `00u…` users, `00g…` groups, `0oa…` apps, `oae…` error ids); emulating
//! the shape lets clients keep any validation they do against real ids.

use rand::Rng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` random characters from `[A-Za-z0-9]`.
pub fn alnum<R: Rng + ?Sized>(rng: &mut R, len: usize) -> String {
    pick(rng, ALNUM, len)
}

/// `len` random characters from the URL-safe base64 alphabet.
pub fn url_safe<R: Rng + ?Sized>(rng: &mut R, len: usize) -> String {
    pick(rng, URL_SAFE, len)
}

/// A 20-character Okta-style object id: a three-character type prefix
/// followed by 17 alphanumerics (`00ub0oNGTSWTBKOLGLNR`).
pub fn okta_object_id<R: Rng + ?Sized>(rng: &mut R, prefix: &str) -> String {
    let body = 20usize.saturating_sub(prefix.len());
    format!("{prefix}{}", alnum(rng, body))
}

/// A request id shaped like Okta's `X-Okta-Request-Id` values
/// (27 URL-safe characters). Always random, so that two requests can never
/// be confused in evidence even when object ids are seeded.
pub fn request_id() -> String {
    let mut rng = rand::thread_rng();
    format!("{}AAAB{}", url_safe(&mut rng, 22), alnum(&mut rng, 1))
}

/// A per-response error id shaped like Okta's (`oae` + 22 characters).
pub fn error_id() -> String {
    format!("oae{}", url_safe(&mut rand::thread_rng(), 22))
}

fn pick<R: Rng + ?Sized>(rng: &mut R, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_the_provider() {
        let mut rng = rand::thread_rng();
        let user = okta_object_id(&mut rng, "00u");
        assert_eq!(user.len(), 20);
        assert!(user.starts_with("00u"));
        assert_eq!(request_id().len(), 27);
        let err = error_id();
        assert!(err.starts_with("oae"));
        assert_eq!(err.len(), 25);
        assert_ne!(request_id(), request_id());
    }
}
