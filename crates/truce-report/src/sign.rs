//! The mission key and bulletin signatures (Ed25519 over canonical JSON).

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use truce_core::journal::canonical_json;

use crate::{Bulletin, ReportError};

/// The mission's signing key. Its public half identifies the mission's
/// bulletins; keep the file private.
pub struct MissionKey(SigningKey);

/// A signature block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureBlock {
    /// Always `ed25519`.
    pub algorithm: String,
    /// Signer's public key, hex.
    pub public_key: String,
    /// Signature over the canonical JSON of the bulletin, hex.
    pub value: String,
}

/// A bulletin with its signature: what every rendering embeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedBulletin {
    /// The content.
    pub bulletin: Bulletin,
    /// The signature.
    pub signature: SignatureBlock,
}

fn content_bytes(b: &Bulletin) -> Vec<u8> {
    canonical_json(&serde_json::to_value(b).expect("bulletins serialise")).into_bytes()
}

impl MissionKey {
    /// A new random key.
    pub fn generate() -> Self {
        MissionKey(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Reads a key file (the 32-byte secret, hex).
    pub fn load(path: &Path) -> Result<Self, ReportError> {
        let text = std::fs::read_to_string(path)?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| {
                ReportError::Invalid(format!("{} is not a mission key file", path.display()))
            })?;
        Ok(MissionKey(SigningKey::from_bytes(&bytes)))
    }

    /// Reads the key at `path`, creating it (readable by the owner only) if
    /// missing; says whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), ReportError> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let key = Self::generate();
        std::fs::write(path, hex::encode(key.0.to_bytes()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok((key, true))
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    /// Signs a bulletin.
    pub fn sign(&self, bulletin: Bulletin) -> SignedBulletin {
        let sig = self.0.sign(&content_bytes(&bulletin));
        SignedBulletin {
            bulletin,
            signature: SignatureBlock {
                algorithm: "ed25519".into(),
                public_key: self.public_hex(),
                value: hex::encode(sig.to_bytes()),
            },
        }
    }
}

/// Checks the signature, and that it was made by `expected_key` (the
/// mission's public key, hex) when given.
pub fn verify_signature(s: &SignedBulletin, expected_key: Option<&str>) -> Result<(), ReportError> {
    let bad = |m: &str| ReportError::Mismatch(m.to_string());
    if s.signature.algorithm != "ed25519" {
        return Err(bad("unknown signature algorithm"));
    }
    if let Some(k) = expected_key
        && !k.eq_ignore_ascii_case(&s.signature.public_key)
    {
        return Err(bad("signed by another key than the mission's"));
    }
    let key: [u8; 32] = hex::decode(&s.signature.public_key)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad("malformed public key"))?;
    let sig: [u8; 64] = hex::decode(&s.signature.value)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| bad("malformed signature"))?;
    VerifyingKey::from_bytes(&key)
        .map_err(|_| bad("malformed public key"))?
        .verify(&content_bytes(&s.bulletin), &Signature::from_bytes(&sig))
        .map_err(|_| bad("the signature does not match the content"))
}
