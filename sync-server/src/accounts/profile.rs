//! A person's profile: name, company, phone, country and currency, what
//! the programme needs to know of them (`wire::Profile`; the app's
//! first-run checklist ticks "profile" once all are there).
//!
//! | method and path                              | who            |
//! |----------------------------------------------|----------------|
//! | `GET /api/me/profile`                        | signed in      |
//! | `PUT /api/me/profile`                        | signed in      |
//! | `GET`, `PUT`, `DELETE /api/me/photo`         | signed in      |

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use wire::Profile;

use crate::{
    accounts::api::AccountsState,
    http::error::AppError,
    http::extract::{ApiJson, Lines, plain_text},
    http::session::Authenticated,
};

pub(super) async fn profile(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Json<Profile>, AppError> {
    Ok(Json(read(&state, &who.account_id).await?))
}

pub(super) async fn set_profile(
    State(state): State<AccountsState>,
    who: Authenticated,
    ApiJson(profile): ApiJson<Profile>,
) -> Result<Json<Profile>, AppError> {
    let checked = check(&profile).map_err(AppError::BadRequest)?;
    sqlx::query(
        "UPDATE accounts SET name = $2, company = $3, phone = $4, country = $5, currency = $6
         WHERE id = $1",
    )
    .bind(&who.account_id)
    .bind(&checked.name)
    .bind(&checked.company)
    .bind(&checked.phone)
    .bind(&checked.country)
    .bind(&checked.currency)
    .execute(&state.pool)
    .await?;
    // A partner's name and company are theirs on the partner row too
    // (statements, the back-office).
    sqlx::query(
        "UPDATE partners p SET name = $2, company = $3 FROM accounts a
         WHERE a.id = $1 AND p.id = a.partner_id",
    )
    .bind(&who.account_id)
    .bind(&checked.name)
    .bind(&checked.company)
    .execute(&state.pool)
    .await?;
    Ok(Json(read(&state, &who.account_id).await?))
}

/// The largest photo kept: the app sends a 256-pixel JPEG, tens of KB.
pub(super) const MAX_PHOTO_BYTES: usize = 256 * 1024;

/// Which image a photo's bytes are, by their first bytes (never by what
/// the request says alone): JPEG, PNG or WebP.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Keeps a photo: a JPEG, PNG or WebP image of at most 256 KiB, whose
/// `Content-Type` says what its bytes are.
pub(super) async fn put_photo(
    State(state): State<AccountsState>,
    who: Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppError> {
    if body.len() > MAX_PHOTO_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let said = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(kind) = image_type(&body) else {
        return Err(AppError::BadRequest(
            "photo must be a JPEG, PNG or WebP image".to_owned(),
        ));
    };
    if said != kind {
        return Err(AppError::BadRequest(format!(
            "photo is a {kind} image, but Content-Type says {}",
            model::Quoted(said)
        )));
    }
    sqlx::query("UPDATE accounts SET photo = $2, photo_type = $3 WHERE id = $1")
        .bind(&who.account_id)
        .bind(&body[..])
        .bind(kind)
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn delete_photo(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<StatusCode, AppError> {
    sqlx::query("UPDATE accounts SET photo = NULL, photo_type = NULL WHERE id = $1")
        .bind(&who.account_id)
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The photo, as kept; a 404 when there is none.
pub(super) async fn photo(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Response, AppError> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> =
        sqlx::query_as("SELECT photo, photo_type FROM accounts WHERE id = $1")
            .bind(&who.account_id)
            .fetch_optional(&state.pool)
            .await?;
    match row {
        Some((Some(bytes), Some(kind))) => Ok((
            [
                (header::CONTENT_TYPE, kind),
                // The person's own: no shared cache keeps it.
                (header::CACHE_CONTROL, "private, no-cache".to_owned()),
            ],
            bytes,
        )
            .into_response()),
        _ => Err(AppError::NotFound),
    }
}

async fn read(state: &AccountsState, account: &str) -> Result<Profile, AppError> {
    let (name, company, phone, country, currency): (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT name, company, phone, country, currency FROM accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_one(&state.pool)
    .await?;
    Ok(Profile {
        name,
        company,
        phone,
        country,
        currency,
    })
}

/// A profile as stored: trimmed, each field checked, with a message that
/// names the field for what is wrong.
fn check(profile: &Profile) -> Result<Profile, String> {
    let name = profile.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("name must be 1 to 200 characters long".to_owned());
    }
    plain_text(name, "a profile", "name", Lines::One).map_err(|e| e.to_string())?;
    let company = profile.company.trim();
    if company.chars().count() > 200 {
        return Err("company must be at most 200 characters long".to_owned());
    }
    plain_text(company, "a profile", "company", Lines::One).map_err(|e| e.to_string())?;
    let phone = profile.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.is_empty()
        && (!phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            || !(6..=20).contains(&digits)
            || phone.len() > 32)
    {
        return Err(
            "phone must be 6 to 20 digits, with spaces, + - ( ) or . if you like".to_owned(),
        );
    }
    let country = match profile.country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            Some(code.to_owned())
        }
        Some(_) => return Err("country must be a two-letter ISO 3166 code, like BR".to_owned()),
    };
    let currency = match profile.currency.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(
            model::Currency::parse(code)
                .map_err(|_| "currency must be an ISO 4217 code, like BRL".to_owned())?
                .as_str()
                .to_owned(),
        ),
    };
    Ok(Profile {
        name: name.to_owned(),
        company: company.to_owned(),
        phone: phone.to_owned(),
        country,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(phone: &str, country: Option<&str>, currency: Option<&str>) -> Profile {
        Profile {
            name: " Eli Moss ".to_owned(),
            company: "Moss Ltd".to_owned(),
            phone: phone.to_owned(),
            country: country.map(str::to_owned),
            currency: currency.map(str::to_owned),
        }
    }

    #[test]
    fn a_photo_is_known_by_its_bytes() {
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(image_type(b"GIF89a"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn a_profile_is_trimmed_and_checked_field_by_field() {
        let ok = check(&profile("+55 (11) 5555-0100", Some("BR"), Some("BRL"))).unwrap();
        assert_eq!(ok.name, "Eli Moss");
        assert_eq!(ok.country.as_deref(), Some("BR"));
        assert!(
            check(&profile("", None, None)).is_ok(),
            "all may be left for later"
        );
        for (wrong, field) in [
            (profile("12345", None, None), "phone"),
            (profile("+55 11 5555 0100 ext 3", None, None), "phone"),
            (profile(&"1".repeat(21), None, None), "phone"),
            (profile("", Some("Brazil"), None), "country"),
            (profile("", Some("br"), None), "country"),
            (profile("", None, Some("XXX")), "currency"),
        ] {
            let why = check(&wrong).unwrap_err();
            assert!(why.starts_with(field), "{why}");
        }
        let mut nameless = profile("", None, None);
        nameless.name = "  ".to_owned();
        assert!(check(&nameless).unwrap_err().starts_with("name"));
        let mut control = profile("", None, None);
        control.company = "Moss\u{7}Ltd".to_owned();
        assert!(check(&control).is_err());
    }
}
