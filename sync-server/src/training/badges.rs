//! Certificates as signed records anyone can check without asking us: an
//! Open Badges 3.0 credential (`/verify/{id}/badge.json`, a W3C Verifiable
//! Credential of type `OpenBadgeCredential`) with a Data Integrity proof
//! (`eddsa-jcs-2022`: Ed25519 over the JSON canonicalised by RFC 8785),
//! and the issuer's profile with its public key (`/issuer`, a Multikey),
//! which wallets and badge backpacks read.
//!
//! The key is the server's, made at the first start and kept in Postgres
//! (`signing_keys`) so that every node and every restart signs alike; its
//! private half never leaves the server. Ids are the public origin's URLs
//! (`--public-origin`); without one, `urn:` names stand in (a development
//! server's credentials are not meant to travel).
//!
//! RFC 8785 (JCS) is written here: for the documents this file makes
//! (keys of ASCII letters, strings, small integers, no floats) it is
//! `serde_json`'s compact text of a `Value`, whose maps sort their keys,
//! with the escapes JCS asks for; `canonical` checks that nothing else
//! slips in. No crate of the field's does eddsa-jcs-2022 without a JSON-LD
//! processor we do not need.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, SecondsFormat, Utc};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use wire::Certificate;

use super::{TrainingState, certificates};
use crate::http::error::AppError;

/// The key's name in the issuer's profile.
const KEY_ID: &str = "key-1";
const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
const OPEN_BADGES_V3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// The server's signing key.
pub struct Signer {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public_multibase())
    }
}

impl Signer {
    /// The key kept in Postgres, made (once, whoever starts first) if
    /// there is none.
    pub async fn load(pool: &PgPool) -> anyhow::Result<Arc<Signer>> {
        let seed: [u8; 32] = rand::random();
        sqlx::query("INSERT INTO signing_keys (id, seed) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(KEY_ID)
            .bind(&seed[..])
            .execute(pool)
            .await?;
        let kept: Vec<u8> = sqlx::query_scalar("SELECT seed FROM signing_keys WHERE id = $1")
            .bind(KEY_ID)
            .fetch_one(pool)
            .await?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&kept)
            .map_err(|_| anyhow::anyhow!("the stored signing key is not an Ed25519 seed"))?;
        Ok(Arc::new(Signer { pair }))
    }

    /// The public key as a Multikey's `publicKeyMultibase`.
    pub fn public_multibase(&self) -> String {
        let mut bytes = ED25519_PUB.to_vec();
        bytes.extend_from_slice(self.pair.public_key().as_ref());
        format!("z{}", base58_encode(&bytes))
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// The Bitcoin base58 alphabet, which base58btc multibase uses.
const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

pub fn base58_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    std::iter::repeat_n('1', zeros)
        .chain(digits.iter().rev().map(|d| BASE58[usize::from(*d)] as char))
        .collect()
}

pub fn base58_decode(text: &str) -> Option<Vec<u8>> {
    let zeros = text.bytes().take_while(|b| *b == b'1').count();
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.bytes().skip(zeros) {
        let mut carry = BASE58.iter().position(|d| *d == c)? as u32;
        for byte in &mut bytes {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    Some(
        std::iter::repeat_n(0, zeros)
            .chain(bytes.into_iter().rev())
            .collect(),
    )
}

/// `value` as RFC 8785 writes it, for the documents made here; `None` for
/// one JCS would write otherwise (a float, a key outside ASCII, whose
/// order JCS takes by UTF-16 units).
pub fn canonical(value: &Value) -> Option<String> {
    fn fits(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.is_i64() || n.is_u64(),
            Value::Array(items) => items.iter().all(fits),
            Value::Object(map) => map.iter().all(|(k, v)| k.is_ascii() && fits(v)),
            _ => true,
        }
    }
    fits(value).then(|| value.to_string())
}

/// What the proof signs (eddsa-jcs-2022): the hash of the proof's options
/// then the hash of the document, both canonical.
fn signed_bytes(document: &Value, options: &Value) -> Option<Vec<u8>> {
    let mut bytes = Sha256::digest(canonical(options)?.as_bytes()).to_vec();
    bytes.extend_from_slice(&Sha256::digest(canonical(document)?.as_bytes()));
    Some(bytes)
}

/// Whether `credential`'s proof is a signature by `public_multibase`.
pub fn verify(credential: &Value, public_multibase: &str) -> bool {
    let Some(mut document) = credential.as_object().cloned() else {
        return false;
    };
    let Some(Value::Object(mut proof)) = document.remove("proof") else {
        return false;
    };
    let Some(signature) = proof.remove("proofValue").and_then(|v| {
        v.as_str()
            .and_then(|s| s.strip_prefix('z'))
            .and_then(base58_decode)
    }) else {
        return false;
    };
    proof.insert("@context".to_owned(), document["@context"].clone());
    let Some(key) = public_multibase
        .strip_prefix('z')
        .and_then(base58_decode)
        .and_then(|k| k.strip_prefix(&ED25519_PUB[..]).map(<[u8]>::to_vec))
    else {
        return false;
    };
    let Some(message) = signed_bytes(&Value::Object(document), &Value::Object(proof)) else {
        return false;
    };
    UnparsedPublicKey::new(&ED25519, key)
        .verify(&message, &signature)
        .is_ok()
}

/// The issuer's id, and what the credential's ids start with.
fn issuer_id(origin: &str) -> String {
    if origin.is_empty() {
        "urn:x-partner-portal:issuer".to_owned()
    } else {
        format!("{origin}/issuer")
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The signed credential of `certificate`.
pub fn credential(
    signer: &Signer,
    origin: &str,
    certificate: &Certificate<DateTime<Utc>>,
) -> Result<Value, AppError> {
    let issuer = issuer_id(origin);
    let id = if origin.is_empty() {
        format!("urn:x-partner-portal:certificate:{}", certificate.id)
    } else {
        format!("{origin}/verify/{}", certificate.id)
    };
    let achievement = if origin.is_empty() {
        format!("urn:x-partner-portal:track:{}", certificate.track_id)
    } else {
        format!("{origin}/#training-{}", certificate.track_id)
    };
    let issued = rfc3339(certificate.issued_at);
    let mut document = json!({
        "@context": [CREDENTIALS_V2, OPEN_BADGES_V3],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": { "id": issuer, "type": ["Profile"], "name": "Partner Portal" },
        "validFrom": issued,
        "name": certificate.track_title,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": false,
                "identityHash": certificate.recipient,
            }],
            "achievement": {
                "id": achievement,
                "type": ["Achievement"],
                "name": certificate.track_title,
                "description": format!(
                    "Passed the certification exam of {} with a score of {}%.",
                    certificate.track_title, certificate.score_percent
                ),
                "criteria": {
                    "narrative": "Pass the track's certification exam, graded by the programme's server, with the share of right answers it asks."
                },
            },
        },
    });
    let mut options = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": issued,
        "verificationMethod": format!("{issuer}#{KEY_ID}"),
        "proofPurpose": "assertionMethod",
        "@context": [CREDENTIALS_V2, OPEN_BADGES_V3],
    });
    let message = signed_bytes(&document, &options).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("a credential JCS would not write so"))
    })?;
    let proof_value = format!("z{}", base58_encode(&signer.sign(&message)));
    if let Some(map) = options.as_object_mut() {
        map.remove("@context");
        map.insert("proofValue".to_owned(), Value::String(proof_value));
    }
    document["proof"] = options;
    Ok(document)
}

fn public_json(value: Value) -> Response {
    let mut response = Json(value).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Read by badge backpacks and verifiers from their own pages.
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `GET /verify/{id}/badge.json` (public).
pub async fn badge(
    State(state): State<TrainingState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let certificate = certificates::find(&state, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let credential = credential(&state.signer, &state.public_origin, &certificate)?;
    Ok(public_json(credential))
}

/// `GET /issuer` (public): who signs the credentials, with the key.
pub async fn issuer(State(state): State<TrainingState>) -> Response {
    let id = issuer_id(&state.public_origin);
    public_json(json!({
        "@context": [CREDENTIALS_V2, OPEN_BADGES_V3, MULTIKEY_V1],
        "id": id,
        "type": ["Profile"],
        "name": "Partner Portal",
        "verificationMethod": [{
            "id": format!("{id}#{KEY_ID}"),
            "type": "Multikey",
            "controller": id,
            "publicKeyMultibase": state.signer.public_multibase(),
        }],
        "assertionMethod": [format!("{id}#{KEY_ID}")],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_reads_back_and_keeps_leading_zeros() {
        // The test vectors of the base58 draft (draft-msporny-base58-03).
        assert_eq!(base58_encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
        assert_eq!(
            base58_encode(b"The quick brown fox jumps over the lazy dog."),
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"
        );
        assert_eq!(base58_encode(&[0, 0, 0x28, 0x7f, 0xb4, 0xcd]), "11233QC4");
        for bytes in [&b""[..], &[0], &[0, 0, 1], &[255; 40]] {
            assert_eq!(base58_decode(&base58_encode(bytes)).unwrap(), bytes);
        }
        assert_eq!(base58_decode("0OIl"), None);
    }

    #[test]
    fn jcs_sorts_keys_and_refuses_what_it_would_write_otherwise() {
        let value = json!({ "b": 1, "a": [true, null, "é\n"], "c": { "z": 0, "y": "\u{1f}" } });
        assert_eq!(
            canonical(&value).unwrap(),
            r#"{"a":[true,null,"é\n"],"b":1,"c":{"y":"\u001f","z":0}}"#
        );
        assert_eq!(canonical(&json!({ "x": 1.5 })), None);
        assert_eq!(canonical(&json!({ "é": 1 })), None);
    }

    #[test]
    fn a_credential_verifies_and_any_change_breaks_it() {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
        let signer = Signer { pair };
        let certificate = Certificate {
            id: "0123456789ABCDEF".to_owned(),
            recipient: "Ben Okafor".to_owned(),
            track_id: "clinics".to_owned(),
            track_title: "Selling to clinics".to_owned(),
            score_percent: 90,
            issued_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            pdf: String::new(),
        };
        let credential = credential(&signer, "https://portal.example", &certificate).unwrap();
        let key = signer.public_multibase();
        assert!(key.starts_with("z6Mk"), "an Ed25519 Multikey: {key}");
        assert!(verify(&credential, &key));
        assert_eq!(credential["proof"]["cryptosuite"], "eddsa-jcs-2022");
        assert_eq!(
            credential["proof"]["verificationMethod"],
            "https://portal.example/issuer#key-1"
        );
        let mut forged = credential.clone();
        forged["credentialSubject"]["identifier"][0]["identityHash"] = json!("Mallory");
        assert!(!verify(&forged, &key));
        let other = Signer {
            pair: Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap(),
        };
        assert!(!verify(&credential, &other.public_multibase()));
        // The same certificate signs to the same bytes (Ed25519 is
        // deterministic): a credential is reproducible.
        assert_eq!(
            credential,
            super::credential(&signer, "https://portal.example", &certificate).unwrap()
        );
    }
}
