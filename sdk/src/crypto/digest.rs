//! SHA-256 for the SDK's own bookkeeping (the verified-request cache): aws-lc-rs when it is
//! compiled in (its assembly is the faster here), the `sha2` crate otherwise.

/// SHA-256 over `parts`, each preceded by its length as 8 little-endian bytes, so that no two
/// different lists of parts give the same input.
pub(crate) fn sha256_length_prefixed(parts: &[&[u8]]) -> [u8; 32] {
    #[cfg(feature = "aws-lc")]
    {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in parts {
            ctx.update(&(part.len() as u64).to_le_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
    #[cfg(not(feature = "aws-lc"))]
    {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in parts {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_keep_parts_apart_and_match_a_known_digest() {
        assert_ne!(
            sha256_length_prefixed(&[b"ab", b"c"]),
            sha256_length_prefixed(&[b"a", b"bc"])
        );
        // SHA-256 of 8 zero bytes (one empty part), computed independently.
        assert_eq!(
            hex_encode(&sha256_length_prefixed(&[b""])),
            "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
        );
    }

    fn hex_encode(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
