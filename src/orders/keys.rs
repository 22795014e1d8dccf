//! Ed25519 signing keys (ring): generated into a file only its owner can
//! read, refused when the file is readable by group or others, and named
//! by a key id that agents list to accept.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ring::rand::SecureRandom as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

const HEADER: &str = "vigie-ed25519-seed-v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Key file problems, each naming the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is readable by group or others (mode {mode:o}); a signing key must be mode 600: chmod 600 {path}"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("{path} is not a vigie signing key: {why}")]
    Malformed { path: PathBuf, why: String },
    #[error("{path} exists already; refusing to overwrite a signing key")]
    Exists { path: PathBuf },
    #[error("public key {0:?} is not 32 bytes of base64")]
    BadPublicKey(String),
}

/// The first 8 bytes of the public key's SHA-256, in hex: short enough to
/// read, long enough not to collide among a provider's keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub String);

impl KeyId {
    /// The id of a public key.
    pub fn of(public: &[u8]) -> Self {
        let d = ring::digest::digest(&ring::digest::SHA256, public);
        KeyId(d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The worker's signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    id: KeyId,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the seed.
        write!(f, "SigningKey({})", self.id)
    }
}

impl SigningKey {
    fn from_seed(seed: &[u8]) -> Result<Self, String> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| e.to_string())?;
        let id = KeyId::of(pair.public_key().as_ref());
        Ok(Self { pair, id })
    }

    /// A fresh key from the system's random source.
    pub fn generate() -> Result<Self, String> {
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| "no random source".to_string())?;
        Self::from_seed(&seed)
    }

    /// Writes a fresh key to `path` (mode 600, never over an existing file).
    pub fn generate_into(path: &Path) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| KeyError::Malformed {
                path: path.to_path_buf(),
                why: "no random source".into(),
            })?;
        let key = Self::from_seed(&seed).map_err(|why| KeyError::Malformed {
            path: path.to_path_buf(),
            why,
        })?;
        let text = format!("{HEADER}\n{}\n", B64.encode(seed));
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                io(e)
            }
        })?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(key)
    }

    /// Reads the key at `path`, refusing a file group or others can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Exposed {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        let malformed = |why: &str| KeyError::Malformed {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(malformed(&format!("the first line is not {HEADER:?}")));
        }
        let seed = lines
            .next()
            .and_then(|l| B64.decode(l.trim()).ok())
            .filter(|s| s.len() == 32)
            .ok_or_else(|| malformed("the second line is not 32 bytes of base64"))?;
        Self::from_seed(&seed).map_err(|why| malformed(&why))
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The public key, base64.
    pub fn public_base64(&self) -> String {
        B64.encode(self.pair.public_key().as_ref())
    }

    /// Signs `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.pair.sign(bytes).as_ref().to_vec()
    }
}

/// The public keys an agent accepts, by id (several during a rotation).
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: HashMap<KeyId, Vec<u8>>,
}

impl TrustedKeys {
    /// Adds a public key given as base64; returns its id.
    pub fn add_base64(&mut self, public: &str) -> Result<KeyId, KeyError> {
        let bytes = B64
            .decode(public.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| KeyError::BadPublicKey(public.to_string()))?;
        let id = KeyId::of(&bytes);
        self.keys.insert(id.clone(), bytes);
        Ok(id)
    }

    /// True when `signature` over `bytes` is by the key `id`, and `id` is
    /// trusted.
    pub fn verify(&self, id: &KeyId, bytes: &[u8], signature: &[u8]) -> Option<bool> {
        let public = self.keys.get(id)?;
        Some(
            UnparsedPublicKey::new(&ED25519, public)
                .verify(bytes, signature)
                .is_ok(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_private_files_and_load_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("signing.key");
        let key = SigningKey::generate_into(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.id().0.len(), 16);
        let again = SigningKey::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.id(), key.id());
        assert_eq!(again.public_base64(), key.public_base64());
        assert!(matches!(
            SigningKey::generate_into(&path),
            Err(KeyError::Exists { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
                .unwrap_or_else(|e| panic!("{e}"));
            let e = SigningKey::load(&path).unwrap_err();
            assert!(e.to_string().contains("mode 640"), "{e}");
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
    }

    #[test]
    fn bad_files_say_why() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("k");
        std::fs::write(&path, "hello\n").unwrap_or_else(|e| panic!("{e}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let e = SigningKey::load(&path).unwrap_err().to_string();
        assert!(e.contains("not a vigie signing key"), "{e}");
        let missing = SigningKey::load(&dir.path().join("none")).unwrap_err();
        assert!(matches!(missing, KeyError::Io { .. }));
    }

    #[test]
    fn trusted_keys_verify_only_their_own_signatures() {
        let a = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let b = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut trusted = TrustedKeys::default();
        let id = trusted
            .add_base64(&a.public_base64())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&id, a.id());
        let sig = a.sign(b"order");
        assert_eq!(trusted.verify(a.id(), b"order", &sig), Some(true));
        assert_eq!(trusted.verify(a.id(), b"other", &sig), Some(false));
        assert_eq!(trusted.verify(b.id(), b"order", &b.sign(b"order")), None);
        assert!(trusted.add_base64("bm90IGEga2V5").is_err());
    }
}
